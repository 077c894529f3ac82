"""The HTTP listener (``serve --http-listen HOST:PORT``): the JSON API and the console.

aiohttp serves it in the gRPC server's own event loop, on the same storage, log tail,
limits, tokens and TLS. The routes are in docs/http.md.
"""

import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
from logicblocks.event.storage.engine import RecordStorageAdapter

from ..auth import Access, Tokens
from ..limits import Limits, SubscriptionSlots
from ..log_tail import LogTail
from ..metrics import parse_listen
from ..tls import ServerTls
from .access import route_label, token_middleware
from .errors import error_body, json_response
from .group_routes import GroupRoutes
from .routes import Api
from .sse import Subscriptions

__all__ = ["CONSOLE_FOLDER", "HttpEndpoint", "http_endpoint"]

_log = logging.getLogger("logicblocks.event.server")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONSOLE_FOLDER = Path(__file__).resolve().parent / "console"

# The console's pages load only what this server serves: no inline script or style, no
# other origin, no framing (docs/http.md tells the console's authors so).
_CONSOLE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# How long a stopping server lets HTTP requests in flight finish (subscriptions end at
# once, with the log tail).
_SHUTDOWN_SECONDS = 10.0
_CODES = {404: "NOT_FOUND", 405: "UNIMPLEMENTED", 413: "RESOURCE_EXHAUSTED"}


@web.middleware
async def _plain_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """aiohttp's own refusals (no such route, wrong method) as the API's JSON errors, and
    any failure the handlers did not answer as a 500: the server never dies of a request."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        return json_response(
            error_body(_CODES.get(error.status, "INVALID_ARGUMENT"), error.reason),
            error.status,
            headers={key: value for key, value in error.headers.items() if key == "Allow"},
        )
    except Exception:
        _log.exception("event=internal_error method=%s", route_label(request))
        return json_response(error_body("INTERNAL", "internal error"), 500)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith("/api/"):
        response.headers.update(_CONSOLE_HEADERS)
    else:
        response.headers["X-Content-Type-Options"] = "nosniff"


class HttpEndpoint:
    """The API and the console on ``listen`` (``HOST:PORT``), TLS with ``tls_context``.

    ``shared_port``: one worker of ``serve --workers``, sharing the port (SO_REUSEPORT).
    """

    def __init__(
        self,
        api: Api,
        subscriptions: Subscriptions,
        *,
        listen: str,
        tokens: Tokens | None = None,
        tls_context: ssl.SSLContext | None = None,
        shared_port: bool = False,
        groups: GroupRoutes | None = None,
    ):
        self.listen = listen
        self._groups = groups
        self.port: int | None = None
        self._api = api
        self._subscriptions = subscriptions
        self._tokens = tokens
        self._tls_context = tls_context
        self._shared_port = shared_port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where the console is, once started."""
        host, _ = parse_listen(self.listen)
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self._tls_context else 'http'}://{host}:{self.port}/"

    def application(self) -> web.Application:
        """The aiohttp application: routes, middlewares, the console's files."""
        middlewares: list[Middleware] = [_plain_errors]
        if self._tokens is not None:
            middlewares.append(token_middleware(self._tokens))
        app = web.Application(
            client_max_size=self._api.limits.max_request_bytes, middlewares=middlewares
        )
        api = self._api
        app.router.add_get("/api/v1/info", api.info, name="info")
        app.router.add_get("/api/v1/categories", api.categories, name="categories")
        app.router.add_get("/api/v1/categories/{category}/streams", api.streams, name="streams")
        app.router.add_get("/api/v1/events", api.events, name="events")
        app.router.add_get("/api/v1/events/{sequence_number:[0-9]+}", api.event, name="event")
        app.router.add_get("/api/v1/events/by-id/{id}", api.event_by_id, name="event-by-id")
        app.router.add_post(
            "/api/v1/streams/{category}/{stream}/events", api.publish, name="publish"
        )
        app.router.add_get("/api/v1/subscribe", self._subscriptions.subscribe, name="subscribe")
        if self._groups is not None:
            groups = self._groups
            app.router.add_get("/api/v1/groups", groups.groups, name="groups")
            app.router.add_get("/api/v1/groups/{name}", groups.group, name="group")
            app.router.add_get("/api/v1/groups/{name}/parked", groups.parked, name="parked")
        if (CONSOLE_FOLDER / "index.html").is_file():
            app.router.add_get("/", _console_page, name="console-page")
            app.router.add_static("/console", CONSOLE_FOLDER, follow_symlinks=False, name="console")
        app.on_response_prepare.append(_security_headers)
        return app

    async def start(self) -> None:
        """Bind and serve; ``port`` is then the bound port. Raises ``OSError`` naming the
        address when it cannot be bound."""
        host, port = parse_listen(self.listen)
        # handler_cancellation: a client that goes away cancels its handler, so an idle
        # subscription gives its slot back at once, not at its next heartbeat.
        runner = web.AppRunner(
            self.application(),
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_SECONDS,
        )
        await runner.setup()
        site = web.TCPSite(
            runner,
            host,
            port,
            ssl_context=self._tls_context,
            reuse_port=self._shared_port or None,
        )
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            reason = (error.strerror or str(error)).lower()
            raise OSError(f"cannot serve HTTP on {self.listen}: {reason}") from None
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        self.port = int(sockets[0].getsockname()[1]) if sockets else port
        _log.info(
            "event=http_listening address=%s port=%d tls=%s url=%s",
            self.listen,
            self.port,
            self._tls_context is not None,
            self.url,
        )

    async def stop(self) -> None:
        """Stop listening and end every request (subscriptions end with the log tail)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def http_endpoint(
    *,
    listen: str,
    storage: AsyncRecordStorage,
    tail: LogTail,
    limits: Limits,
    slots: SubscriptionSlots,
    tokens: Mapping[str, Access] | None,
    tls: ServerTls | None,
    on_storage_error: Callable[[str], None] | None,
    shared_port: bool,
    groups: RecordStorageAdapter | None = None,
    executor: Executor | None = None,
) -> HttpEndpoint:
    """The HTTP listener of a server, sharing its storage, log tail, limits, subscription
    slots, tokens and TLS; with ``groups`` (the engine adapter, called on ``executor``),
    the consumer group routes too."""
    api = Api(storage, limits, on_storage_error)
    return HttpEndpoint(
        api,
        Subscriptions(api, tail, slots),
        listen=listen,
        tokens=Tokens(tokens) if tokens is not None else None,
        tls_context=tls.ssl_context() if tls is not None else None,
        shared_port=shared_port,
        groups=GroupRoutes(api, groups, executor)
        if groups is not None and executor is not None
        else None,
    )


async def _console_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(CONSOLE_FOLDER / "index.html")
