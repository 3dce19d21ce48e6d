"""The CLI's building blocks: ID lists, safe terminal output, progress lines, exit-code mapping, --since."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from entrabr_tui.cli.exits import ExitCode, UsageError, classify
from entrabr_tui.cli.output import Output
from entrabr_tui.cli.progress import ProgressPrinter, bar, job_line
from entrabr_tui.cli.targets import Target, gather_targets, read_targets
from entrabr_tui.cli.timeparse import parse_since
from entrabr_tui.core.model import Job, JobKind, RecoveryStatus
from entrabr_tui.engine import errors as engine_errors
from entrabr_tui.engine.events import JobProgress
from entrabr_tui.graph import errors as graph_errors
from entrabr_tui.graph.auth_errors import InteractionRequired, SignInFailed

from .helpers import FakeTty

GUID = "8f0c2b6e-1d2e-4f3a-9b8c-7d6e5f4a3b2c"


def test_id_lines_with_comments_types_and_repeats() -> None:
    text = f"\ufeff# from the audit log\n{GUID}  # the CEO\n\nuser:{GUID.upper()}\ngroup:abc-1\n{GUID}\n"
    targets = gather_targets([], "-", io.StringIO(text))
    assert targets == [Target(GUID), Target(GUID.upper(), "user"), Target("abc-1", "group")]
    typed = gather_targets(["x-1"], "-", io.StringIO(f"{GUID}\n"), default_type="user")
    assert typed == [Target("x-1", "user"), Target(GUID, "user")]


@pytest.mark.parametrize("line", ["two words", "quote'd", "a,b", "\x1b[31mred", "bad type:" + GUID,
                                  "x" * 300])
def test_bad_id_lines_are_refused(line: str) -> None:
    with pytest.raises(UsageError) as caught:
        read_targets(io.StringIO(f"{GUID}\n{line}\n"), "ids.txt")
    assert "ids.txt line 2" in caught.value.message
    assert "\x1b" not in caught.value.message


def test_missing_id_file_is_a_usage_error(tmp_path: object) -> None:
    with pytest.raises(UsageError, match="Cannot read"):
        gather_targets([], "/nonexistent/ids.txt", io.StringIO())


def test_tables_escape_hostile_names_and_align() -> None:
    out, err = io.StringIO(), io.StringIO()
    o = Output(out, err, io.StringIO())
    o.table(("NAME", "N"), [("Eve\x1b[2J\u202eevil", 5), ("日本", 12_345), ("x", None)], right=(1,))
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text
    assert "Eve␛<U+202E>evil" in text  # the display rule: the sequence goes whole, a mark stays
    lines = text.splitlines()
    assert lines[1].endswith("     5") and lines[2].endswith("12,345") and lines[3].endswith("-")
    o.info("note \x9b31m")
    assert err.getvalue() == "note ␛\n"


def test_quiet_silences_info_but_not_warnings() -> None:
    err = io.StringIO()
    o = Output(io.StringIO(), err, io.StringIO(), quiet=True)
    o.info("hidden")
    o.warn("shown")
    assert err.getvalue() == "warning: shown\n"


def _event(phase: str, downloaded: int = 0, total: int | None = None, text: str = "t") -> JobProgress:
    return JobProgress(job_id="j1", kind=JobKind.PREVIEW, phase=phase, text=text, elapsed=3.0,
                       downloaded=downloaded, total=total)


def test_progress_off_a_terminal_prints_phase_changes_and_tenths() -> None:
    err = io.StringIO()
    printer = ProgressPrinter(err)
    for event in [_event("loadingData"), _event("loadingData"), _event("calculating"),
                  *[_event("downloading", n, 1000) for n in range(0, 1001, 50)]]:
        printer.job(event)
    printer.done()
    lines = err.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["loadingData", "calculating"]
    downloads = lines[2:]
    assert len(downloads) == 11  # 0 %, 10 %, ... 100 %
    assert downloads[-1].startswith("[########################] 100%")


def test_progress_on_a_terminal_redraws_one_line() -> None:
    err = FakeTty()
    ticks = iter(range(100))
    printer = ProgressPrinter(err, clock=lambda: float(next(ticks)))
    printer.job(_event("calculating"))
    printer.job(_event("downloading", 5, 10))
    printer.done()
    assert err.getvalue().count("\r\x1b[K") == 3 and "\n" not in err.getvalue()


def test_progress_line_texts() -> None:
    assert bar(0.5, 4) == "[##..]"
    assert "downloading 5/10 changes" in job_line(_event("downloading", 5, 10))
    assert job_line(_event("calculating", text="Calculating differences")).startswith(
        "calculating  Calculating differences  job j1")


def _job() -> Job:
    return Job(kind=JobKind.PREVIEW, id="p1", status=RecoveryStatus.CALCULATING, status_raw="calculating")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (graph_errors.AuthError("x"), ExitCode.AUTH),
        (graph_errors.ForbiddenError("x", needs="admin"), ExitCode.FORBIDDEN),
        (graph_errors.ConflictError("x"), ExitCode.CONFLICT),
        (graph_errors.NotFoundError("x"), ExitCode.NOT_FOUND),
        (graph_errors.NetworkError("x"), ExitCode.NETWORK),
        (graph_errors.ThrottledError("x"), ExitCode.NETWORK),
        (graph_errors.ServerError("x"), ExitCode.NETWORK),
        (graph_errors.OutcomeUnknownError("x"), ExitCode.NETWORK),
        (graph_errors.BadRequestError("x"), ExitCode.ERROR),
        (engine_errors.SlotBusyError(_job()), ExitCode.CONFLICT),
        (engine_errors.UnconfirmedIntentError(1, "x"), ExitCode.CONFLICT),
        (engine_errors.OfflineError("Restoring"), ExitCode.OFFLINE),
        (engine_errors.JobEndedError(_job()), ExitCode.ERROR),
        (InteractionRequired("sign in"), ExitCode.AUTH),
        (SignInFailed("refused"), ExitCode.AUTH),
        (SignInFailed("unreachable", network=True), ExitCode.NETWORK),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (RuntimeError("boom"), ExitCode.ERROR),
    ],
)
def test_every_error_has_its_exit_code(exc: BaseException, code: ExitCode) -> None:
    assert classify(exc).code is code


def test_forbidden_names_the_role_or_permission_and_says_why_in_the_hint() -> None:
    from entrabr_tui.graph.errors import CREATE_RECOVERY

    sentence = CREATE_RECOVERY.needs
    err = classify(graph_errors.ForbiddenError(f"Creating a restore was refused: {sentence}", needs=sentence))
    assert err.needs == "Entra Backup Administrator"
    assert err.hint == sentence and err.message == "Creating a restore was refused."
    lacks = ("The sign-in lacks the delegated permission EntraBackup.ReadWrite.Recovery: an administrator "
             "must grant it to the application")
    assert classify(graph_errors.ForbiddenError(f"Restoring was refused: {lacks}.", needs=lacks)).needs == (
        "EntraBackup.ReadWrite.Recovery")
    reader = "Signed in as Entra Backup Reader: restores need the Entra Backup Administrator role"
    assert classify(graph_errors.ForbiddenError("x", needs=reader)).needs == "Entra Backup Administrator"
    app_sentence = "App-only sign-in: Microsoft allows only reads"
    app_only = classify(graph_errors.ForbiddenError("x", needs=app_sentence))
    assert app_only.needs is None and app_only.hint == app_sentence + "."


def test_device_code_prompt_goes_to_stderr_even_when_quiet() -> None:
    from entrabr_tui.cli.connect import device_code_printer
    from entrabr_tui.core.sign_in import DeviceCodePrompt

    out, err = io.StringIO(), io.StringIO()
    show = device_code_printer(Output(out, err, io.StringIO(), quiet=True))
    show(DeviceCodePrompt("https://microsoft.com/devicelogin", "ABCD-EFGH", datetime.now(UTC)))
    assert "ABCD-EFGH" in err.getvalue() and out.getvalue() == ""


def test_since_values() -> None:
    now = datetime(2026, 7, 28, 12, 0, tzinfo=UTC)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-07-01", now) == datetime(2026, 7, 1, tzinfo=UTC)
    assert parse_since("2026-07-01 08:30Z", now) == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("soon", now)


def test_the_token_cache_warnings_name_flags_that_exist() -> None:
    import re

    from entrabr_tui.cli.args import build_parser, parse
    from entrabr_tui.cli.connect import resolve_target, session_settings
    from entrabr_tui.graph import auth_errors, token_cache

    sources = Path(token_cache.__file__).read_text(encoding="utf-8") + Path(auth_errors.__file__).read_text(
        encoding="utf-8")
    named = set(re.findall(r"(--[a-z][a-z-]+)", sources))
    assert "--allow-unencrypted-token-cache" in named
    known = {option for action in build_parser()._actions for option in action.option_strings}
    assert named <= known
    args = parse(["--tenant", "contoso.onmicrosoft.com", "jobs", "--allow-unencrypted-token-cache"])
    settings = session_settings(resolve_target(args, None))
    assert settings.sign_in_settings().allow_unencrypted_cache is True
    plain = session_settings(resolve_target(parse(["--tenant", "contoso.onmicrosoft.com", "jobs"]), None))
    assert plain.sign_in_settings().allow_unencrypted_cache is False


def test_the_commands_never_reach_past_the_session_into_its_cache() -> None:
    import ast

    import entrabr_tui.cli

    folder = Path(entrabr_tui.cli.__file__).parent
    reached = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("cache", "cache_reader") \
                    and isinstance(node.value, ast.Name) and node.value.id == "session":
                reached.append(f"{path.name}:{node.lineno}")
    assert len(list(folder.glob("*.py"))) > 10 and reached == []
