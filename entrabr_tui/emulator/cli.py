"""``entrabr emulator ...``: serve the emulator, or print a bearer token for it."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from types import FrameType

from .layout import tenant_id
from .snapshot_ids import SNAPSHOT_ID_STYLES
from .tokens import ROLES, mint_token


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="entrabr emulator",
        description="Serve an offline emulator of the Graph Entra Backup and Recovery API until interrupted. "
                    "`entrabr emulator token --role admin` prints a bearer token for it.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--seed", type=int, default=1, help="tenant seed (default 1)")
    parser.add_argument("--objects", type=int, default=2000, help="tenant size in objects (default 2000)")
    parser.add_argument("--drift", type=int, default=None, help="objects the last day's incident touches")
    parser.add_argument("--snapshots", type=int, default=7, help="daily snapshots kept (default 7)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every Graph request")
    parser.add_argument("--job-speed", type=float, default=1.0,
                        help="divides the documented job durations (1000 turns an hour into 3.6 s)")
    parser.add_argument("--audit-events", type=int, default=0,
                        help="synthetic background records added to the directory audit log (default 0)")
    parser.add_argument("--sync-flag-in-changes", action="store_true",
                        help="put onPremisesSyncEnabled into the currentState of on-premises-synced objects' "
                             "changes (Microsoft's examples never show it; off by default)")
    parser.add_argument("--deterministic-ids", action="store_true",
                        help="derive job ids from the seed (for tests; by default they are random)")
    parser.add_argument("--snapshot-id-style", choices=SNAPSHOT_ID_STYLES, default="epoch",
                        help="snapshot ids as the live service makes them (epoch, default) or as "
                             "Microsoft's docs show them (iso)")
    return parser


def _token_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="entrabr emulator token",
                                     description="Print a bearer token the emulator accepts.")
    parser.add_argument("--role", choices=ROLES, default="admin",
                        help="reader (Entra Backup Reader), admin (Entra Backup Administrator), "
                             "global (Global Administrator) or app (app-only, read)")
    parser.add_argument("--expires-in", type=int, default=3600, help="lifetime in seconds (default 3600)")
    parser.add_argument("--seed", type=int, default=1,
                        help="tenant seed of the emulator the token is for (default 1; sets the tenant id)")
    parser.add_argument("--objects", type=int, default=2000,
                        help="tenant size of the emulator the token is for (default 2000; sets the "
                             "tenant id)")
    return parser


def _token(argv: list[str]) -> int:
    args = _token_parser().parse_args(argv)
    tenant = tenant_id(args.seed, args.objects)
    print(mint_token(args.role, expires_in=args.expires_in, tenant=tenant), flush=True)
    return 0


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if not 0 <= args.port <= 65535:
        parser.error("--port must be in 0..65535")
    if args.objects < 1:
        parser.error("--objects must be at least 1")
    if args.drift is not None and args.drift < 0:
        parser.error("--drift must not be negative")
    if args.snapshots < 1:
        parser.error("--snapshots must be at least 1")
    if args.latency_ms < 0:
        parser.error("--latency-ms must not be negative")
    if not args.job_speed > 0:
        parser.error("--job-speed must be positive")
    if not 0 <= args.audit_events <= 50_000_000:
        parser.error("--audit-events must be in 0..50000000")


def _serve(argv: list[str]) -> int:
    parser = _serve_parser()
    args = parser.parse_args(argv)
    _check(args, parser)
    from .runner import EmulatorServer

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    began = time.perf_counter()
    server = EmulatorServer(seed=args.seed, objects=args.objects, drift=args.drift, snapshots=args.snapshots,
                            latency_ms=args.latency_ms, job_speed=args.job_speed, host=args.host,
                            port=args.port, sync_flag_in_changes=args.sync_flag_in_changes,
                            deterministic_ids=args.deterministic_ids,
                            snapshot_id_style=args.snapshot_id_style, audit_events=args.audit_events)
    try:
        server.start()
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"entrabr emulator: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"entrabr emulator listening on {server.base_url} (graph: {server.graph_url()})", flush=True)
        print(f"tenant ready in {time.perf_counter() - began:.1f} s; "
              "token: entrabr emulator token --role admin; stop with Ctrl+C", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str]) -> int:
    """Run ``entrabr emulator`` with ``argv`` (the arguments after ``emulator``); return the exit code."""
    try:
        if argv and argv[0] == "token":
            return _token(argv[1:])
        return _serve(argv)
    except SystemExit as exc:          # argparse: --help or a usage error
        return exc.code if isinstance(exc.code, int) else 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
