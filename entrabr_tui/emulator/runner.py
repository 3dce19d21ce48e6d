"""Run the emulator in-process: uvicorn in a daemon thread with its own event loop.

Stopping is prompt: uvicorn's own server notices ``should_exit`` on a 0.1 s tick, then sleeps another
0.1 s and polls its connections every 0.1 s; :class:`_PromptServer` is woken from the calling thread
instead and polls the connections it asked to close every few milliseconds, so a short-lived process
(a command-line run on the demo tenant) does not spend a fifth of a second shutting its emulator down.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from datetime import datetime
from types import TracebackType
from typing import Any

import uvicorn

from .app import create_app
from .frontdoor import install_log_filter
from .layout import tenant_id
from .service import EmulatorService
from .snapshot_ids import check_style
from .tokens import mint_token

STARTUP_TIMEOUT = 30.0
#: How long requests still in flight at stop may take to finish before they are cancelled.
SHUTDOWN_GRACE = 5.0
#: How often the shutdown looks whether the connections it closed are gone.
_SHUTDOWN_POLL = 0.002
#: The idle tick that keeps uvicorn's ``Date`` header current (as uvicorn's own loop does).
_TICK = 0.1


class _PromptServer(uvicorn.Server):
    """uvicorn's server, stopped at once by :meth:`request_exit` (any thread) instead of on its next tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def request_exit(self) -> None:
        """Ask the server to stop; wakes its loop if it is already serving."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        # The event exists before the first should_exit check: a request_exit() that came earlier has
        # set should_exit already, one that comes later finds the event to set.
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _TICK)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown without its fixed waits: stop listening, close idle keep-alive connections
        (busy ones close after their response) and wait for them, at most ``SHUTDOWN_GRACE``. Requests
        still running then have no client left to answer (a client killed mid-request, or one past the
        grace period): they are cancelled. The emulator does no work after a response, so nothing is lost."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        while state.connections and loop.time() < deadline and not self.force_exit:
            await asyncio.sleep(_SHUTDOWN_POLL)
        leftover = [task for task in state.tasks if not task.done()]
        for task in leftover:
            task.cancel(msg="the emulator is stopping")
        if leftover:
            await asyncio.wait(leftover, timeout=1.0)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


class EmulatorServer:
    """A Graph recovery-API emulator listening on a loopback port.

    ``with EmulatorServer(seed=1, job_speed=1e6) as emu: ...`` builds the tenant, starts serving and
    stops on exit. ``base_url`` carries the real port (``port=0`` picks a free one). ``audit_events`` adds
    that many synthetic background records to the directory audit log; :meth:`audit_truth` tells who made
    each change (the ground truth behind the log).

    Fidelity knobs: ``sync_flag_in_changes`` puts ``onPremisesSyncEnabled`` into change objects' current
    state (off: Microsoft's examples never show it); ``deterministic_ids`` makes job ids a function of the
    seed (for tests; by default they are random uuid4s, so a restarted emulator never reissues an id a
    client cached); ``snapshot_id_style`` is ``"epoch"`` (as the live service) or ``"iso"`` (as the docs).
    """

    def __init__(self, *, seed: int = 1, objects: int = 2000, drift: int | None = None, snapshots: int = 7,
                 latency_ms: int = 0, job_speed: float = 1.0, host: str = "127.0.0.1", port: int = 0,
                 now: datetime | None = None, sync_flag_in_changes: bool = False,
                 deterministic_ids: bool = False, snapshot_id_style: str = "epoch",
                 audit_events: int = 0) -> None:
        self.host = host
        self.port = port
        if job_speed <= 0:
            raise ValueError("job_speed must be positive")
        check_style(snapshot_id_style)
        self.seed, self.objects, self.drift, self.snapshots = seed, objects, drift, snapshots
        self.latency_ms, self.job_speed, self._now = latency_ms, job_speed, now
        self.sync_flag_in_changes, self.deterministic_ids = sync_flag_in_changes, deterministic_ids
        self.snapshot_id_style = snapshot_id_style
        self.audit_events = audit_events
        self.service: EmulatorService | None = None
        self._server: _PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` with the real port (valid once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def graph_url(self, version: str = "v1.0") -> str:
        """The Graph base URL, e.g. ``http://127.0.0.1:PORT/v1.0``."""
        return f"{self.base_url}/{version}"

    @property
    def tenant_id(self) -> str:
        """The emulated tenant's id (it depends on the seed and the tenant size)."""
        return tenant_id(self.seed, self.objects)

    def token(self, role: str = "admin", *, expires_in: int = 3600) -> str:
        """A bearer token for ``role`` (reader, admin, global or app) in this emulator's tenant."""
        return mint_token(role, expires_in=expires_in, tenant=self.tenant_id)

    def audit_truth(self, object_id: str | None = None) -> dict[str, Any]:
        """Per object id, every change made to it and its actor (see ``GET /_emulator/audit/truth``)."""
        if self.service is None:
            raise RuntimeError("the emulator is not running")
        return self.service.audit.truth(self.service.clock.now(), object_id)

    def start(self) -> None:
        """Build the tenant, bind the port and serve; returns once the server is listening."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self.service = EmulatorService(seed=self.seed, objects=self.objects, drift=self.drift,
                                       snapshots=self.snapshots, latency_ms=self.latency_ms,
                                       job_speed=self.job_speed, now=self._now,
                                       sync_flag_in_changes=self.sync_flag_in_changes,
                                       deterministic_ids=self.deterministic_ids,
                                       snapshot_id_style=self.snapshot_id_style,
                                       audit_events=self.audit_events)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.listen(2048)
        sock.setblocking(False)
        self._socket = sock
        self.port = sock.getsockname()[1]
        install_log_filter()
        config = uvicorn.Config(create_app(self.service), log_level="warning", access_log=False,
                                lifespan="off", http="h11", timeout_keep_alive=30)
        self._server = _PromptServer(config)
        self._thread = threading.Thread(target=self._serve, name=f"entrabr-emulator:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"the emulator failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start listening in time")
            time.sleep(0.005)

    def _serve(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported to start() / stop()
            self._error = exc

    def stop(self) -> None:
        """Stop serving and wait for the server thread (idempotent)."""
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_GRACE + 5)
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._server = None
        self._socket = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
