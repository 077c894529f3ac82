"""The server's Prometheus metrics (``serve --metrics-listen HOST:PORT``), served at ``/metrics``.

Each ``EventStoreServer`` has a ``ServerMetrics`` with a registry of its own, not
prometheus_client's global default, so several servers in one process (tests, an embedding
program) neither collide on names nor add up each other's counts.

The metrics come from four places, each where the fact is known without extra work:

- calls: ``RpcMetricsInterceptor`` times every call to the end of its response, which for a
  streaming call (``Scan``, ``Subscribe``, health ``Watch``) is the end of the stream;
- commits: the storage engine's ``commit_observer`` reports the events each commit wrote,
  so published events and the size of PostgreSQL's commit groups are counted after the
  commit, never for a rejected or retried publish;
- gauges read on scrape: live subscriptions (the servicer's slots), joined group
  consumers and the head the log tail has seen, so the publish path does no metrics work for them;
- storage errors: the servicer and the log tail report each storage failure by kind;
- consumer groups: the ``Consume`` streams count their traffic, and each group's stored
  state is read at each scrape (``group_metrics``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .group_metrics import GroupMetrics

__all__ = [
    "MetricsEndpoint",
    "RpcMetricsInterceptor",
    "ServerMetrics",
    "parse_listen",
]

# grpc-stubs makes the interceptor generic; at run time it is a plain class.
if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

# Unary calls take milliseconds; streams (subscriptions above all) last minutes or hours,
# so the buckets reach past the defaults' 10 s.
_DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
    60.0,
    600.0,
    3600.0,
)
# Events per commit: 1 for lone publishes, up to the PostgreSQL group limit (5,000).
_GROUP_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


class ServerMetrics:
    """The metrics of one server, in a registry of their own (``registry``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_published = Counter(
            "eventstore_events_published",
            "Events written to storage (retried publishes and rejected ones write none).",
            registry=self.registry,
        )
        self.rpc_duration = Histogram(
            "eventstore_rpc_duration_seconds",
            "Time from a call's start to the end of its response (of its stream, if any).",
            ["service", "method", "code"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.subscriptions_active = Gauge(
            "eventstore_subscriptions_active",
            "Subscriptions being served now.",
            registry=self.registry,
        )
        self.group_consumers_active = Gauge(
            "eventstore_group_consumers_active",
            "Consumer group consumers joined through this server now (Consume streams).",
            registry=self.registry,
        )
        self.head_sequence_number = Gauge(
            "eventstore_log_head_sequence_number",
            "The greatest sequence number the server has seen committed (-1: empty store).",
            registry=self.registry,
        )
        self.publish_group_size = Histogram(
            "eventstore_publish_group_size",
            "Events written per storage commit (PostgreSQL: per group commit).",
            buckets=_GROUP_BUCKETS,
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "eventstore_storage_errors",
            "Storage failures: unavailable (unreachable, timed out) or full.",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("unavailable", "full"):
            # Present at 0 from the start, so rate() and alerts see the series before the
            # first failure.
            self.storage_errors.labels(kind=kind)
        self.head_sequence_number.set(-1)
        self.groups = GroupMetrics(self.registry)

    def observe_commit(self, events: int) -> None:
        """A storage commit wrote ``events`` events (the engine's ``commit_observer``)."""
        self.events_published.inc(events)
        self.publish_group_size.observe(events)

    def observe_storage_error(self, kind: str) -> None:
        """A storage call failed: ``kind`` is ``unavailable`` or ``full``."""
        self.storage_errors.labels(kind=kind).inc()

    def watch(self, *, subscriptions: Callable[[], int], head: Callable[[], int]) -> None:
        """Read the live subscriptions and the head from these functions at each scrape."""
        self.subscriptions_active.set_function(subscriptions)
        self.head_sequence_number.set_function(head)

    def watch_group_consumers(self, consumers: Callable[[], int]) -> None:
        """Read the joined group consumers from ``consumers`` at each scrape."""
        self.group_consumers_active.set_function(consumers)

    def interceptor(self) -> RpcMetricsInterceptor:
        """A server interceptor recording ``rpc_duration`` for every call."""
        return RpcMetricsInterceptor(self.rpc_duration)


def _code_name(context: grpc.aio.ServicerContext[Any, Any], failure: BaseException | None) -> str:
    """The status a finished call ended with, as its name (``OK``, ``NOT_FOUND``, ...)."""
    code = context.code()  # set by abort() and set_code()
    if code is not None:
        return code.name if isinstance(code, grpc.StatusCode) else grpc.StatusCode(code).name
    if failure is None:
        return "OK"
    if isinstance(failure, asyncio.CancelledError):
        return "CANCELLED"
    # What gRPC answers for an exception that escapes a handler.
    return "UNKNOWN"


class RpcMetricsInterceptor(_ServerInterceptor):
    """Observes each call's duration, by service, method and status code, in ``histogram``."""

    def __init__(self, histogram: Histogram):
        self._histogram = histogram

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            # An unknown method: gRPC answers UNIMPLEMENTED itself. Not recorded, so a
            # caller cannot grow the label set with made-up method names.
            return handler
        full_method: str = handler_call_details.method
        service, _, method = full_method.lstrip("/").rpartition("/")
        observed = self._histogram

        def observe(started: float, context: Any, failure: BaseException | None) -> None:
            code = _code_name(context, failure)
            observed.labels(service=service, method=method, code=code).observe(
                time.perf_counter() - started
            )

        def unary(behaviour: Callable[[Any, Any], Awaitable[Any]]) -> Callable[..., Any]:
            async def handle(request: Any, context: Any) -> Any:
                started = time.perf_counter()
                failure: BaseException | None = None
                try:
                    return await behaviour(request, context)
                except BaseException as error:
                    failure = error
                    raise
                finally:
                    observe(started, context, failure)

            return handle

        def streaming(behaviour: Callable[[Any, Any], Any]) -> Callable[..., Any]:
            async def handle(request: Any, context: Any) -> AsyncIterator[Any]:
                started = time.perf_counter()
                failure: BaseException | None = None
                try:
                    # An async iterator under grpc.aio (grpc-stubs types the blocking API's).
                    async for response in behaviour(request, context):
                        yield response
                except BaseException as error:
                    failure = error
                    raise
                finally:
                    # Reached when the stream ends, however: finished, aborted, or cancelled
                    # by a reader that went away.
                    observe(started, context, failure)

            return handle

        if handler.unary_unary is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                unary_unary=unary(handler.unary_unary)
            )
        if handler.unary_stream is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                unary_stream=streaming(handler.unary_stream)
            )
        if handler.stream_unary is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                stream_unary=unary(handler.stream_unary)
            )
        if handler.stream_stream is not None:
            return handler._replace(  # type: ignore[attr-defined, no-any-return]
                stream_stream=streaming(handler.stream_stream)
            )
        return handler


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6; port 0 picks a free one) as (host, port).

    Raises ``ValueError`` saying what is wrong.
    """
    host, separator, port_text = text.rpartition(":")
    if not separator or not host:
        raise ValueError(f"{text!r} must be HOST:PORT, for example 127.0.0.1:9464")
    host = host.removeprefix("[").removesuffix("]")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"{text!r}: the port must be a number from 0 to 65535")
    return host, int(port_text)


class MetricsEndpoint:
    """``/metrics`` over plain HTTP on ``listen``, in a thread of its own.

    prometheus_client's own threaded HTTP server, rather than its ASGI or aiohttp
    integration: it needs no web framework as a dependency, and a scrape (which renders
    every metric) runs in its own thread, so it never holds up the event loop serving
    gRPC, and a stalled scraper holds one thread, not the server.
    """

    def __init__(self, metrics: ServerMetrics, listen: str):
        self._metrics = metrics
        self.listen = listen
        self._server: Any = None
        self.port: int | None = None

    def start(self) -> None:
        """Bind ``listen`` and serve; ``port`` is then the bound port.

        Raises ``OSError`` (for example "address already in use") naming the address.
        """
        host, port = parse_listen(self.listen)
        try:
            self._server, _thread = start_http_server(
                port, addr=host, registry=self._metrics.registry
            )
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise OSError(f"cannot serve metrics on {self.listen}: {reason}") from None
        self.port = int(self._server.server_port)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
