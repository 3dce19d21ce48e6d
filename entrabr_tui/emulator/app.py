"""The emulator's ASGI application factory."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .control import ControlPlane
from .frontdoor import FrontDoor
from .graph_routes import GraphDispatcher
from .service import EmulatorService

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _control_not_found(request: Request) -> Response:
    return Response(b'{"error":{"code":"NotFound","message":"unknown control-plane route"}}',
                    status_code=404, media_type="application/json")


def create_app(service: EmulatorService) -> FrontDoor:
    """Build the ASGI app: control plane at ``/_emulator``, Graph everywhere else."""
    control = ControlPlane(service)
    graph = GraphDispatcher(service)
    routes = [
        Route("/_emulator", _control_not_found, methods=ALL_METHODS),
        Mount("/_emulator", routes=[*control.routes(),
                                    Route("/{rest:path}", _control_not_found, methods=ALL_METHODS)]),
        Route("/{rest:path}", graph.handle, methods=ALL_METHODS),
    ]
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False
    return FrontDoor(app, service)
