"""Run the emulator in-process: uvicorn in a daemon thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import datetime
from types import TracebackType

import uvicorn

from .app import create_app
from .frontdoor import install_log_filter
from .service import EmulatorService
from .tokens import mint_token

STARTUP_TIMEOUT = 30.0


class EmulatorServer:
    """A Graph recovery-API emulator listening on a loopback port.

    ``with EmulatorServer(seed=1, job_speed=1e6) as emu: ...`` builds the tenant, starts serving and
    stops on exit. ``base_url`` carries the real port (``port=0`` picks a free one).
    """

    def __init__(self, *, seed: int = 1, objects: int = 2000, drift: int | None = None, snapshots: int = 7,
                 latency_ms: int = 0, job_speed: float = 1.0, host: str = "127.0.0.1", port: int = 0,
                 now: datetime | None = None) -> None:
        self.host = host
        self.port = port
        if job_speed <= 0:
            raise ValueError("job_speed must be positive")
        self.seed, self.objects, self.drift, self.snapshots = seed, objects, drift, snapshots
        self.latency_ms, self.job_speed, self._now = latency_ms, job_speed, now
        self.service: EmulatorService | None = None
        self._server: uvicorn.Server | None = None
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

    def token(self, role: str = "admin", *, expires_in: int = 3600) -> str:
        """A bearer token for ``role`` (reader, admin, global or app)."""
        return mint_token(role, expires_in=expires_in)

    def start(self) -> None:
        """Build the tenant, bind the port and serve; returns once the server is listening."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self.service = EmulatorService(seed=self.seed, objects=self.objects, drift=self.drift,
                                       snapshots=self.snapshots, latency_ms=self.latency_ms,
                                       job_speed=self.job_speed, now=self._now)
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
        self._server = uvicorn.Server(config)
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
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
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
