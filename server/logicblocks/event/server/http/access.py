"""Bearer tokens on the HTTP face: the gRPC face's tokens, checked the same way.

Every ``/api/`` request needs ``Authorization: Bearer <token>`` when the server has
tokens; a publish needs a read-write one. The console's static files need none: they
hold nothing of the store, and the page must load to ask for a token.

``EventSource`` cannot send headers, so the subscription route alone also takes the
token as the query parameter ``access_token`` (RFC 6750, section 2.3). A cookie would
instead need a login route and CSRF defences for publishes (browsers send cookies on
cross-site requests, never an ``Authorization`` header), and would outlive the tab.
Query strings are never logged.
"""

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..auth import Access, Tokens, fingerprint
from .errors import error_body, json_response

__all__ = ["QUERY_TOKEN_ROUTES", "WRITE_ROUTES", "token_middleware"]

_log = logging.getLogger("logicblocks.event.server")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Route names (see endpoint.py) that need a read-write token, and that take a token in
# the query.
WRITE_ROUTES = frozenset({"publish"})
QUERY_TOKEN_ROUTES = frozenset({"subscribe"})


def route_label(request: web.Request) -> str:
    """The method and route template of a request (``GET /api/v1/events``), for logs:
    never the names or query it carries."""
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else "(unknown route)"
    return f"{request.method} {path}"


def peer(request: web.Request) -> str:
    """The caller's address, as the gRPC face names peers (``ipv4:127.0.0.1:50000``)."""
    address = request.transport.get_extra_info("peername") if request.transport else None
    if not address:
        return "unknown"
    host, port = address[0], address[1]
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


def token_middleware(tokens: Tokens) -> Middleware:
    """A middleware refusing ``/api/`` requests without a known token (401) and writes
    with a read-only one (403)."""

    @web.middleware
    async def check_token(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        route = request.match_info.route.name
        header = request.headers.get("Authorization", "")
        presented = header
        if not header and route in QUERY_TOKEN_ROUTES and "access_token" in request.query:
            presented = "Bearer " + request.query["access_token"]
        access = tokens.of_header(presented)
        if access is None:
            _log.warning(
                "event=unauthenticated method=%s peer=%s token=%s",
                route_label(request),
                peer(request),
                "missing" if not presented else "invalid",
            )
            return json_response(
                error_body(
                    "UNAUTHENTICATED", "a valid 'Authorization: Bearer <token>' is required"
                ),
                401,
                headers={"WWW-Authenticate": 'Bearer realm="event-store"'},
            )
        if access is Access.READ_ONLY and route in WRITE_ROUTES:
            _log.warning(
                "event=permission_denied method=%s peer=%s token_sha256=%s",
                route_label(request),
                peer(request),
                fingerprint(presented.partition(" ")[2].strip()),
            )
            return json_response(error_body("PERMISSION_DENIED", "this token is read-only"), 403)
        return await handler(request)

    return check_token
