"""Subscriptions over gRPC that survive dropped connections and server restarts."""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.exceptions import ConfigurationError, StorageUnavailableError
from logicblocks.event.store.start import NO_EVENTS, After, FromEnd, ReadStart
from logicblocks.event.store.subscription import Subscription
from logicblocks.event.types import StoredEvent
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc

from .retry import Backoff
from .starts import Since
from .wire import bad_request_from_wire, set_timestamp, stored_event_from_wire, target_to_wire

__all__ = ["RECONNECT_CODES", "GrpcSubscription", "SubscriptionProgress", "subscription_error"]

# Statuses after which the subscription reconnects rather than failing: the server or the
# connection went away (a restart, a shutdown, a network fault), not the request.
RECONNECT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNKNOWN,
    }
)
# UNKNOWN is also what a connection cut mid-stream can look like, so it is retried, but
# only this many times in a row without a response: a server that fails the same way on
# every attempt is reported, not retried for ever.
_UNKNOWN_LIMIT = 5
# A run of failed reconnections is logged at this many failures, then each time it doubles.
_WARN_AFTER = 5

_log = logging.getLogger(__name__)


def subscription_error(
    error: grpc.RpcError, documented: Callable[[grpc.RpcError], Exception]
) -> Exception:
    """The exception for a subscription the server refused: ``documented``'s, except that
    a start beyond the store's head (``OUT_OF_RANGE``, a checkpoint from another store or
    from before a restore) is an ``InvalidInputError`` on ``after_sequence_number``."""
    if error.code() == grpc.StatusCode.OUT_OF_RANGE:
        # The server's message reads "after_sequence_number: <why, with the true head>".
        return bad_request_from_wire(str(error.details()), None)
    return documented(error)


class SubscriptionProgress:
    """What a client subscription has received and delivered; transport-free.

    Shared by the blocking ``GrpcSubscription`` and the asyncio one, so both resume and
    deduplicate identically: ``request()`` asks for the events after the checkpoint (or
    for "the end" until the first catch-up of a ``from_end`` subscription), ``receive()``
    takes a response, ``pop()`` hands out the next event and moves the checkpoint.
    Events at or below the checkpoint (which a correct server never sends) are dropped as
    a second guard against duplicates.

    A ``Since`` start is sent as the time until the first response says where it stands
    (the first event, or a marker's head); from then on the subscription resumes after
    its checkpoint like any other.
    """

    def __init__(
        self,
        *,
        target: Scannable,
        start: ReadStart | Since,
        heartbeat_interval: float | None,
        max_reconnect_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_reconnect_seconds is not None and not max_reconnect_seconds >= 0:
            raise ConfigurationError(
                f"max_reconnect_seconds must be >= 0 or None, not {max_reconnect_seconds}"
            )
        self.target = target
        self.max_reconnect_seconds = max_reconnect_seconds
        self._clock = clock
        # The run of failed reconnections since the last response: when it began, how long.
        self._failing_since: float | None = None
        self._failures = 0
        self.from_end = isinstance(start, FromEnd)
        self.checkpoint = start.sequence_number if isinstance(start, After) else NO_EVENTS
        self.since = start.at if isinstance(start, Since) else None
        self.caught_up = False
        self.heartbeat_interval = heartbeat_interval
        self.buffer: deque[StoredEvent] = deque()
        self._backoff = Backoff.for_reconnects()
        self._unknown_failures = 0

    def request(self) -> event_store_pb2.SubscribeRequest:
        """The request that (re)starts the subscription where it stands."""
        request = event_store_pb2.SubscribeRequest(target=target_to_wire(self.target))
        if self.from_end and not self.caught_up and self.checkpoint < 0:
            # Never caught up yet: the start is still "the end as of now".
            request.end.SetInParent()
        elif self.since is not None:
            # Nothing received yet: the start is still the time.
            set_timestamp(request.since, self.since)
        else:
            request.after_sequence_number = self.checkpoint
        if self.heartbeat_interval is not None:
            interval = Duration()
            interval.FromNanoseconds(int(self.heartbeat_interval * 1e9))
            request.heartbeat_interval.CopyFrom(interval)
        return request

    def pop(self) -> StoredEvent | None:
        """The next event to deliver, if one was received; it moves the checkpoint."""
        if not self.buffer:
            return None
        event = self.buffer.popleft()
        self.checkpoint = event.sequence_number
        return event

    def receive(self, response: event_store_pb2.SubscribeResponse) -> None:
        """Take one response of the stream."""
        # Anything received proves the connection works: the next failure backs off afresh.
        self._backoff.reset()
        self._unknown_failures = 0
        self._failing_since = None
        self._failures = 0
        kind = response.WhichOneof("content")
        if kind == "events":
            last = self.buffer[-1].sequence_number if self.buffer else self.checkpoint
            if self.since is not None and response.events.events:
                # The first event from the time: the read stands just before it.
                self.since = None
                last = self.checkpoint = response.events.events[0].sequence_number - 1
            for wire_event in response.events.events:
                if wire_event.sequence_number > last:
                    self.buffer.append(stored_event_from_wire(wire_event))
                    last = wire_event.sequence_number
        elif kind in ("caught_up", "heartbeat"):
            if kind == "caught_up":
                self.caught_up = True
            marker = response.caught_up if kind == "caught_up" else response.heartbeat
            # Only when everything received was delivered: the head covers those events.
            if not self.buffer:
                # Nothing from the time up to the head: the read stands at the head.
                self.since = None
                if marker.HasField("head"):
                    self.checkpoint = max(self.checkpoint, marker.head)

    def should_reconnect(self, code: grpc.StatusCode) -> bool:
        """Whether a call that failed with ``code`` is retried rather than reported."""
        if code == grpc.StatusCode.UNKNOWN:
            self._unknown_failures += 1
            return self._unknown_failures <= _UNKNOWN_LIMIT
        return code in RECONNECT_CODES

    def next_delay(self) -> float:
        """How long to wait before the next reconnection: exponential, with jitter."""
        return self._backoff.next_delay()

    def retry_delay(
        self, error: grpc.RpcError, documented: Callable[[grpc.RpcError], Exception]
    ) -> float:
        """The wait before reconnecting after ``error``, or raise what to report instead.

        Raised: the documented error of a failure not worth retrying, and
        ``StorageUnavailableError`` once reconnections have failed for
        ``max_reconnect_seconds`` without a response. A long run of failures is logged
        (a warning at the fifth, then each time the run doubles) so it is never silent.
        """
        if not self.should_reconnect(error.code()):
            raise subscription_error(error, documented) from None
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        self._failures += 1
        failing_for = now - self._failing_since
        bound = self.max_reconnect_seconds
        if bound is not None and failing_for >= bound:
            raise StorageUnavailableError(
                f"subscription gave up: {self._failures} attempts to reach the server failed "
                f"in {failing_for:.1f} s (max_reconnect_seconds={bound:g}): {documented(error)}"
            ) from None
        runs = self._failures // _WARN_AFTER
        if self._failures % _WARN_AFTER == 0 and (runs & (runs - 1)) == 0:
            _log.warning(
                "event=subscription_reconnect_failing target=%s failures=%d seconds=%.1f "
                "code=%s details=%s",
                self.target,
                self._failures,
                failing_for,
                error.code().name,
                error.details(),
            )
        delay = self.next_delay()
        # Try once more at the bound rather than give up up to a whole delay after it.
        return delay if bound is None else max(0.0, min(delay, bound - failing_for))


class GrpcSubscription(Subscription):
    """Follows a target through the ``Subscribe`` RPC.

    After a dropped connection it reconnects with exponential backoff (with jitter) and
    resumes after ``checkpoint``: events are never yielded twice, none are skipped.
    ``reconnects`` counts the reconnections.
    """

    def __init__(
        self,
        *,
        stub: event_store_pb2_grpc.EventStoreStub,
        target: Scannable,
        start: ReadStart | Since,
        heartbeat_interval: float | None,
        raise_error: Callable[[grpc.RpcError], Exception],
        metadata: tuple[tuple[str, str], ...] = (),
        max_reconnect_seconds: float | None = None,
    ):
        self._stub = stub
        self._progress = SubscriptionProgress(
            target=target,
            start=start,
            heartbeat_interval=heartbeat_interval,
            max_reconnect_seconds=max_reconnect_seconds,
        )
        self._raise_error = raise_error
        self._metadata = metadata
        self._closed = threading.Event()
        self._lock = threading.Lock()
        # A grpc.CallIterator: an iterator of responses that can also be cancelled
        # (grpc-stubs types it without __next__).
        self._call: Any = None
        self.reconnects = 0
        if self._progress.from_end:
            # Fix "the end" now, not at the first next(): events published after
            # subscribe() returns must be delivered.
            self._await_caught_up()

    def _await_caught_up(self) -> None:
        while not self._progress.caught_up and not self._closed.is_set():
            call = self._call if self._call is not None else self._connect()
            if call is None:
                return
            try:
                response = next(call)
            except StopIteration:
                # Ended before catching up: reconnect, backing off as after any clean end,
                # so a peer that keeps ending the stream is not called in a tight loop.
                self._disconnect()
                self._closed.wait(self._progress.next_delay())
                continue
            except grpc.RpcError as error:
                self._disconnect()
                raise self._raise_error(error) from None
            self._progress.receive(response)

    @property
    def checkpoint(self) -> int:
        return self._progress.checkpoint

    @property
    def caught_up(self) -> bool:
        return self._progress.caught_up

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def __next__(self) -> StoredEvent:
        while not self._closed.is_set():
            event = self._progress.pop()
            if event is not None:
                return event
            call = self._call if self._call is not None else self._connect()
            if call is None:
                break
            try:
                response = next(call)
            except StopIteration:
                # The server (or a proxy) ended the stream: reconnect, backing off so a
                # peer that keeps doing so is not hammered.
                self._disconnect()
                self.reconnects += 1
                self._closed.wait(self._progress.next_delay())
            except grpc.RpcError as error:
                self._disconnect()
                if self._closed.is_set():
                    break
                delay = self._progress.retry_delay(error, self._raise_error)
                self.reconnects += 1
                self._closed.wait(delay)
            else:
                self._progress.receive(response)
        raise StopIteration

    def _connect(self) -> Any:
        """A new call, or ``None`` when the adapter's channel is closed (nothing can come)."""
        try:
            call: Any = self._stub.Subscribe(self._progress.request(), metadata=self._metadata)
        except ValueError:
            self._closed.set()
            return None
        with self._lock:
            self._call = call
        if self._closed.is_set():
            call.cancel()
        return call

    def _disconnect(self) -> None:
        with self._lock:
            self._call = None
