"""Opening a tenant session from the command line: the demo tenant, a configured profile, or the options.

Precedence: command-line options, then the chosen ``--profile`` (or the default profile in ``config.toml``),
then the built-in defaults. The device-code prompt goes to stderr, so stdout stays data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from entrabr_tui.cli.args import CommonArgs, RestoreArgs
from entrabr_tui.cli.exits import CliError, ExitCode, UsageError
from entrabr_tui.cli.output import Output

if TYPE_CHECKING:
    from entrabr_tui.core.sign_in import DeviceCodePrompt
    from entrabr_tui.engine.session import Session
    from entrabr_tui.engine.settings import SessionSettings
    from entrabr_tui.engine.timing import PollPolicy
    from entrabr_tui.store import AppConfig, ConfigLoad, TenantProfile

#: Command-line spellings of the sign-in methods and the ``AuthMethod`` values they stand for.
AUTH_METHODS = {"device-code": "device-code", "browser": "browser", "cli": "azure-cli",
                "env": "environment", "emulator": "emulator"}


@dataclass(frozen=True, slots=True)
class Target:
    """Where a session goes: the demo tenant, or a Graph URL with sign-in settings."""

    demo: bool
    graph_url: str | None
    tenant: str | None
    client_id: str | None
    auth: str | None
    role: str
    offline: bool
    profile: str | None = None
    allow_unencrypted_cache: bool = False


def load_app_config(out: Output) -> AppConfig:
    """The user config (defaults when missing); problems with it are warnings, never fatal."""
    from entrabr_tui.store import load_config

    loaded = load_config()
    for problem in config_problems(loaded):
        out.warn(problem)
    return loaded.config


def config_problems(loaded: ConfigLoad) -> list[str]:
    """What is wrong with the config file, one message each (the file itself is never changed for it)."""
    problems = [loaded.error] if loaded.error else []
    return problems + [f"{loaded.path}: {warning}" for warning in loaded.warnings]


def configured_profile(config: AppConfig, name: str | None) -> TenantProfile | None:
    """The profile named ``name`` (a usage error if there is none), or the default profile."""
    profile = config.profile(name)
    if name is not None and profile is None:
        known = ", ".join(p.name for p in config.profiles) or "none"
        raise UsageError(f"No profile {name!r} in the configuration (profiles: {known}).")
    return profile


def resolve_target(args: CommonArgs, config: AppConfig | None) -> Target:
    """Merge the options with the configured profile."""
    if args.demo:
        return Target(True, None, None, None, "emulator", args.role or "admin", False)
    profile = configured_profile(config, args.profile) if config is not None else None
    graph_url = args.graph_url or (profile.graph_url if profile else None)
    tenant = args.tenant or (profile.tenant_id if profile else None)
    client_id = args.client_id or (profile.client_id if profile else None)
    auth = args.auth or (profile.auth_method if profile else None)
    if auth is not None and auth not in AUTH_METHODS:
        raise UsageError(f"Unknown sign-in method {auth!r} in the configuration; "
                         f"use one of {', '.join(AUTH_METHODS)}.")
    return Target(False, graph_url, tenant, client_id, auth, args.role or "admin", args.offline,
                  profile.name if profile else None,
                  allow_unencrypted_cache=args.allow_unencrypted_token_cache)


def demo_poll(job_speed: float | None) -> PollPolicy:
    """Polling for the demo tenant: its jobs last seconds, so poll in tenths of a second."""
    from entrabr_tui.engine.timing import PollPolicy

    speed = job_speed or 600.0
    cap = max(0.05, min(1.0, 600.0 / speed))
    return PollPolicy(initial=min(0.05, cap), factor=1.5, caps=((60.0, cap),), ceiling=max(cap, 1.0))


def session_settings(target: Target, *, allow_interaction: bool = True) -> SessionSettings:
    """The engine settings for a non-demo target (an emulator is polled like the demo tenant)."""
    from entrabr_tui.engine.settings import SessionSettings
    from entrabr_tui.graph.adapter import DEFAULT_BASE_URL
    from entrabr_tui.graph.auth import AuthMethod, AuthSettings

    method = AuthMethod(AUTH_METHODS[target.auth or "device-code"])
    graph_url = target.graph_url or DEFAULT_BASE_URL
    auth = AuthSettings(method=method, tenant_id=target.tenant, client_id=target.client_id,
                        graph_url=graph_url, emulator_role=target.role,
                        allow_unencrypted_cache=target.allow_unencrypted_cache)
    # Online the cache is keyed by the token's tenant id; offline the given tenant names the cache.
    extra: dict[str, Any] = {}
    if method is AuthMethod.EMULATOR:
        extra["poll"] = demo_poll(None)
        extra["journal_settle"] = 0.5  # the emulator lists a job the moment it creates it
    return SessionSettings(graph_url=graph_url, auth=method, role=target.role, auth_settings=auth,
                           offline=target.offline, tenant=target.tenant if target.offline else None,
                           allow_interaction=allow_interaction, **extra)


def device_code_printer(out: Output) -> Any:
    """A prompt callback that shows the device code on stderr (never stdout)."""

    def show(prompt: DeviceCodePrompt) -> None:
        out.say(prompt.message)

    return show


async def open_session(args: CommonArgs, out: Output, config: AppConfig | None) -> Session:
    """Open the session the options ask for (see the module documentation)."""
    from entrabr_tui import engine
    from entrabr_tui.engine.errors import EngineError

    target = resolve_target(args, config)
    if target.demo:
        from entrabr_tui.cli.args import DEMO_OBJECTS
        from entrabr_tui.engine.demo import DEMO_JOB_SPEED

        out.info("Starting the demo tenant…")
        session = await engine.open_demo(
            role=target.role, poll=demo_poll(args.job_speed),
            objects=args.objects if args.objects is not None else DEMO_OBJECTS,
            job_speed=args.job_speed if args.job_speed is not None else DEMO_JOB_SPEED,
        )
    else:
        try:
            session = await engine.open_session(session_settings(target), prompt=device_code_printer(out))
        except EngineError as exc:
            if target.offline:
                raise CliError(exc.message, ExitCode.OFFLINE) from None
            raise
    if target.profile is not None:
        profile = configured_profile(config, target.profile) if config is not None else None
        session.note_profile(target.profile, profile.tenant_id if profile else "")
    for warning in session.warnings:
        out.warn(warning)
    apply_restore_guards(session, config, target.profile, args, out)
    return session


def apply_restore_guards(session: Session, config: AppConfig | None, profile: str | None,
                         args: CommonArgs, out: Output | None = None) -> None:
    """Give the session the tenant's restore guards from the config (its profile, else
    ``[tenants."<tenant id>"]``), with the ``--break-glass-user`` / ``--break-glass-group`` options added."""
    from dataclasses import replace

    from entrabr_tui.store.config import RestoreGuards, restore_guards

    guards, warnings = restore_guards(config, session.tenant, profile) if config is not None else (
        RestoreGuards(), [])
    for warning in warnings:
        if out is not None:
            out.warn(warning)
    given = args if isinstance(args, RestoreArgs) else RestoreArgs()
    users = [*guards.break_glass_users, *given.break_glass_users]
    groups = [*guards.break_glass_groups, *given.break_glass_groups]
    guards = replace(guards, break_glass_users=tuple(dict.fromkeys(users)),
                     break_glass_groups=tuple(dict.fromkeys(groups)))
    session.safety.configure(guards, profile=profile)
