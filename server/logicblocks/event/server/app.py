"""The server process: the event store service, health and reflection on one ``grpc.aio`` server."""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Self

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from logicblocks.event.storage.asynchronous import AsyncRecordStorage
from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.v1 import consumer_groups_pb2_grpc, event_store_pb2

from .auth import Access, TokenAuthInterceptor
from .connections import (
    ConnectionWatch,
    connection_cap,
    connection_options,
    raise_open_files_limit,
)
from .groups import GROUPS_SERVICE_NAME, ConsumerGroupServicer
from .health import BoundedHealthServicer
from .http.endpoint import HttpEndpoint, http_endpoint
from .limits import DEFAULT_LIMITS, Limits, SubscriptionSlots
from .listen_address import bind_problem
from .log_tail import LogTail
from .malformed import MalformedRequestInterceptor
from .metrics import MetricsEndpoint, ServerMetrics
from .reflection import enable_reflection
from .servicer import EventStoreServicer, add_to_server
from .tls import ServerTls

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "DEFAULT_LISTEN",
    "MAX_MESSAGE_BYTES",
    "EventStoreServer",
    "serve_until_signalled",
]

_log = logging.getLogger("logicblocks.event.server")

DEFAULT_LISTEN = "127.0.0.1:50051"
# The largest message the server sends; the largest it accepts is Limits.max_request_bytes.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# How long a shutdown lets in-flight publishes and scans finish before cancelling them.
DEFAULT_GRACE_SECONDS = 10.0

SERVICE_NAME = event_store_pb2.DESCRIPTOR.services_by_name["EventStore"].full_name

_SERVER_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Accept the clients' keepalive pings (every 30 s by default in the Python client)
    # rather than answering them with GOAWAY "too many pings".
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]


class EventStoreServer:
    """The event store served over gRPC on ``listen``, in front of ``adapter``.

    The server awaits the adapter's asynchronous face (``adapter.asynchronous``): PostgreSQL
    answers in the event loop itself; other engines run each call in a thread pool of
    ``storage_threads`` threads. ``storage`` is that face while the server runs. Use ``start()`` and
    ``stop()`` from a running event loop, or ``async with``. The adapter stays the caller's
    to close. ``limits`` bounds requests and subscriptions; ``tokens`` (token to access)
    requires a bearer token on every call but health checks; ``tls`` serves TLS only.
    ``metrics_listen`` (``HOST:PORT``) serves Prometheus metrics at ``/metrics`` over HTTP
    (``metrics_port`` is then the bound port); without it no metrics are kept.
    ``http_listen`` (``HOST:PORT``) serves the HTTP/JSON API and the console there, on the
    same storage, tokens and TLS (``http_port`` is then the bound port).
    ``shared_port``: this server is one worker of ``serve --workers``, sharing its port
    with the others (SO_REUSEPORT); it logs ``event=worker_listening``, the supervisor
    ``event=listening``.
    """

    def __init__(
        self,
        adapter: RecordStorageAdapter,
        *,
        listen: str = DEFAULT_LISTEN,
        storage_threads: int = 16,
        limits: Limits = DEFAULT_LIMITS,
        tokens: Mapping[str, Access] | None = None,
        tls: ServerTls | None = None,
        metrics_listen: str | None = None,
        shared_port: bool = False,
        http_listen: str | None = None,
    ):
        self.adapter = adapter
        # The HTTP face (the JSON API and the console), beside gRPC; see http/.
        self.http_listen = http_listen
        self.http_port: int | None = None
        self._http: HttpEndpoint | None = None
        # One set of subscription slots for both faces: --max-subscriptions bounds the sum.
        self._subscription_slots = SubscriptionSlots(limits)
        self._shared_port = shared_port
        self._metrics = ServerMetrics() if metrics_listen is not None else None
        self._metrics_endpoint = (
            MetricsEndpoint(self._metrics, metrics_listen)
            if self._metrics is not None and metrics_listen is not None
            else None
        )
        self.metrics_port: int | None = None
        self.listen = listen
        self.limits = limits
        self._tokens = tokens
        self._tls = tls
        self._executor = ThreadPoolExecutor(
            max_workers=storage_threads, thread_name_prefix="event-store-storage"
        )
        self._server: grpc.aio.Server | None = None
        self._tail: LogTail | None = None
        self.storage: AsyncRecordStorage | None = None
        self._health = BoundedHealthServicer(limits)
        self._groups: ConsumerGroupServicer | None = None
        self._connection_watch: asyncio.Task[None] | None = None
        self.port: int | None = None

    def _build(
        self, storage: AsyncRecordStorage, tail: LogTail, connections: int
    ) -> grpc.aio.Server:
        interceptors: list[grpc.aio.ServerInterceptor[Any, Any]] = []
        if self._metrics is not None:
            # Outermost, so calls refused by the interceptors below are timed and counted
            # with their status too.
            interceptors.append(self._metrics.interceptor())
        if self._tokens is not None:
            # First, so no other code runs for a caller without a token.
            interceptors.append(TokenAuthInterceptor(self._tokens))
        interceptors.append(
            MalformedRequestInterceptor((f"/{SERVICE_NAME}/", f"/{GROUPS_SERVICE_NAME}/"))
        )
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self.limits.max_request_bytes),
                *connection_options(self.limits, connections),
                *_SERVER_OPTIONS,
                # Off unless asked: a second server started by mistake on the same port
                # would otherwise start and silently share the traffic.
                ("grpc.so_reuseport", int(self._shared_port)),
            ],
            interceptors=interceptors,
        )
        add_to_server(
            EventStoreServicer(
                storage,
                tail,
                limits=self.limits,
                on_storage_error=self._storage_error_observer(),
                subscriptions=self._subscription_slots,
            ),
            server,
        )
        # Groups call the engine adapter's group methods, the one implementation of
        # groups, on the storage threads (the adapter is blocking).
        self._groups = ConsumerGroupServicer(
            self.adapter,
            self._executor,
            limits=self.limits,
            subscriptions=self._subscription_slots,
            on_storage_error=self._storage_error_observer(),
            traffic=self._metrics.groups.traffic if self._metrics is not None else None,
        )
        consumer_groups_pb2_grpc.add_ConsumerGroupServiceServicer_to_server(self._groups, server)
        if self._metrics is not None:
            groups = self._groups
            self._metrics.watch_group_consumers(lambda: groups.consumers)
            self._metrics.groups.watch(self.adapter.list_groups)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        enable_reflection(
            [
                SERVICE_NAME,
                GROUPS_SERVICE_NAME,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            ],
            server,
        )
        return server

    async def start(self) -> None:
        """Bind ``listen`` and start serving; ``port`` is then the bound port."""
        # Workers share the port by design: their supervisor probed it once, before them.
        problem = None if self._shared_port else bind_problem(self.listen)
        if problem is not None:
            raise OSError(f"cannot listen on {self.listen}: {problem}")
        http_problem = (
            bind_problem(self.http_listen)
            if self.http_listen is not None and not self._shared_port
            else None
        )
        if http_problem is not None:
            raise OSError(f"cannot serve HTTP on {self.http_listen}: {http_problem}")
        if self._metrics_endpoint is not None:
            # Before anything runs: a metrics address that cannot be bound stops the start.
            self._metrics_endpoint.start()
            self.metrics_port = self._metrics_endpoint.port
        # Made here, not in __init__: a grpc.aio server belongs to the loop running it.
        storage = self.adapter.asynchronous(self._executor)
        await storage.open()
        self.storage = storage
        self._tail = LogTail(storage, on_storage_error=self._storage_error_observer())
        await self._tail.start()
        # Every face's publishes (gRPC and HTTP) reach the tail without a read back.
        storage.records_observer = self._tail.offer
        if self._metrics is not None:
            tail = self._tail
            self._metrics.watch(subscriptions=lambda: tail.subscribers, head=lambda: tail.end)
            storage.commit_observer = self._metrics.observe_commit
        open_files = raise_open_files_limit()
        connections = connection_cap(self.limits, open_files)
        self._server = self._build(storage, self._tail, connections)
        try:
            self.port = (
                self._server.add_secure_port(self.listen, self._tls.credentials())
                if self._tls is not None
                else self._server.add_insecure_port(self.listen)
            )
        except RuntimeError as error:
            raise OSError(f"cannot listen on {self.listen}: {error}") from None
        await self._server.start()
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        await self._health.set(GROUPS_SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
        self._connection_watch = asyncio.create_task(
            ConnectionWatch(self.port, connections).run(), name="connection-watch"
        )
        _log.info(
            "event=%s address=%s port=%d tls=%s mutual_tls=%s tokens=%s "
            "max_connections=%d open_files_limit=%d",
            "worker_listening" if self._shared_port else "listening",
            self.listen,
            self.port,
            self._tls is not None,
            self._tls is not None and self._tls.client_ca is not None,
            "off" if self._tokens is None else len(self._tokens),
            connections,
            open_files,
        )
        if self._metrics_endpoint is not None:
            _log.info(
                "event=metrics_listening address=%s port=%s path=/metrics",
                self._metrics_endpoint.listen,
                self.metrics_port,
            )
        if self.http_listen is not None:
            self._http = http_endpoint(
                listen=self.http_listen,
                storage=storage,
                tail=self._tail,
                limits=self.limits,
                slots=self._subscription_slots,
                tokens=self._tokens,
                tls=self._tls,
                on_storage_error=self._storage_error_observer(),
                shared_port=self._shared_port,
                groups=self.adapter,
                executor=self._executor,
            )
            await self._http.start()
            self.http_port = self._http.port

    def _storage_error_observer(self) -> Callable[[str], None] | None:
        return self._metrics.observe_storage_error if self._metrics is not None else None

    async def stop(self, grace: float | None = DEFAULT_GRACE_SECONDS) -> None:
        """Stop accepting calls, let in-flight ones finish within ``grace`` seconds, stop."""
        _log.info("event=stopping grace_seconds=%s", grace)
        if self._connection_watch is not None:
            self._connection_watch.cancel()
        # Health watchers (load balancers) learn first that this server is going away.
        await self._health.enter_graceful_shutdown()
        if self._tail is not None:
            # Subscriptions never finish by themselves: end them now with UNAVAILABLE so
            # their clients reconnect elsewhere, while publishes and scans get the grace.
            self._tail.close()
        if self._groups is not None:
            # Consumers likewise: they leave the group now (what they hold goes to the
            # others) and their streams end with UNAVAILABLE, so they join elsewhere.
            await self._groups.close()
        # Both faces drain at once: one stopping first would keep the other taking calls.
        stopping: list[Awaitable[None]] = []
        if self._http is not None:
            stopping.append(self._http.stop())
        if self._server is not None:
            stopping.append(self._server.stop(grace))
        await asyncio.gather(*stopping)
        if self._tail is not None:
            await self._tail.stop()
        if self.storage is not None:
            await self.storage.close()
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._metrics is not None:
            if self.storage is not None and self.storage.commit_observer is not None:
                self.storage.commit_observer = None
            if self._metrics_endpoint is not None:
                # Last, so the final counts can be scraped while the server drains.
                self._metrics_endpoint.stop()
            self._metrics.groups.close()
        _log.info("event=stopped")

    async def wait_for_termination(self) -> None:
        """Return when the server has stopped."""
        if self._server is not None:
            await self._server.wait_for_termination()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_until_signalled(
    server: EventStoreServer,
    grace: float = DEFAULT_GRACE_SECONDS,
    on_started: Callable[[Callable[[], None]], None] | None = None,
) -> None:
    """Run ``server`` until SIGTERM or SIGINT, then shut it down gracefully.

    ``on_started``, once the server serves, is given a function that stops it the same way.
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(signal_number: int) -> None:
        _log.info("event=signal_received signal=%s", signal.Signals(signal_number).name)
        stopping.set()

    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, request_stop, signal_number)
    try:
        await server.start()
        if on_started is not None:
            on_started(stopping.set)
        await stopping.wait()
        await server.stop(grace)
    finally:
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signal_number)
