"""A publish made ready for the wire: validated, given ids, and able to read its answer.

Both gRPC clients (blocking and asyncio) build their publishes here, one stream or
several, so they validate, retry and report the same way.
"""

from collections.abc import Iterable, Mapping, Sequence, Set
from typing import NamedTuple, cast

import grpc

from logicblocks.event.store.adapters.base import Saveable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import (
    EventStoreError,
    PublishOutcomeUnknownError,
    StorageUnavailableError,
)
from logicblocks.event.store.records import prepare_events, validate_target
from logicblocks.event.store.writes import StreamWrite, prepare_writes
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from logicblocks.event.v1 import event_store_pb2

from .errors import PublishAttempt, documented_error
from .wire import (
    events_with_ids,
    publish_request_to_wire,
    stored_writes_from_receipts,
    writes_request_to_wire,
)

__all__ = ["PreparedPublish", "publish_request", "writes_request"]


class PreparedPublish(NamedTuple):
    """A validated publish: the request to send, and what its answer or failure needs.

    ``target`` and ``events`` are the stream and events of a publish into one stream;
    for one into several, ``writes`` holds the caller's writes, ``target`` is ``None``
    and ``events`` holds every write's events in order.
    """

    target: identifier.Stream | None
    events: Sequence[NewEvent]
    request: event_store_pb2.PublishRequest
    writes: Sequence[StreamWrite] | None = None

    def stored_events(self, response: event_store_pb2.PublishResponse) -> list[StoredEvent]:
        """The stored events of the acknowledged publish, rebuilt from its receipts."""
        if self.writes is None:
            assert self.target is not None
            return stored_writes_from_receipts(
                [(self.target, self.events)], response, target=self.target
            )
        return stored_writes_from_receipts(
            [(write.target, write.events) for write in self.writes],
            response,
            target=self._attempt().target,
        )

    def error(self, error: grpc.RpcError, *, after_uncertain: bool = False) -> EventStoreError:
        """The documented error for the publish's failed call; uncertain ones carry the
        events with the ids they were sent with, for a retry.

        ``after_uncertain``: an earlier attempt failed in a way that leaves its outcome
        unknown (it may yet commit, on another server behind a balancer). A certain refusal
        of the last attempt then says nothing of that one, so the publish is uncertain.
        """
        attempt = self._attempt()
        documented = documented_error(error, publish=attempt)
        if not after_uncertain or isinstance(documented, PublishOutcomeUnknownError):
            return documented
        return PublishOutcomeUnknownError(
            f"an earlier attempt of this publish may or may not be stored, and a retry was "
            f"refused ({documented}); publish the same events again with the same ids to "
            f"settle it",
            target=attempt.target,
            events=attempt.events,
        )

    def closed_error(self, *, first_attempt: bool) -> EventStoreError:
        """The error for a publish made on (or retried into) a closed adapter: nothing was
        sent on a first attempt; after a failed one, the outcome is unknown."""
        if first_attempt:
            return StorageUnavailableError("the adapter is closed: nothing was sent")
        attempt = self._attempt()
        return PublishOutcomeUnknownError(
            "the adapter was closed while the publish was being retried: it may or may not "
            "be stored; publish the same events again with the same ids to settle it",
            target=attempt.target,
            events=attempt.events,
        )

    def _attempt(self) -> PublishAttempt:
        """What was sent, ids included. For a publish into several streams the target is
        the writes as sent (each event with its id, each write with its conditions), so
        ``store.publish(writes=error.target, conditions=...)`` retries it exactly."""
        events = events_with_ids(self.events, self.request)
        if self.writes is None:
            return PublishAttempt(self.target, events)
        sent: list[StreamWrite] = []
        offset = 0
        for write in self.writes:
            count = len(write.events)
            sent.append(
                StreamWrite(
                    category=write.category,
                    stream=write.stream,
                    events=events[offset : offset + count],
                    conditions=write.conditions,
                )
            )
            offset += count
        return PublishAttempt(tuple(sent), events)


def publish_request(
    target: Saveable, events: Iterable[NewEvent], conditions: Set[WriteCondition]
) -> PreparedPublish:
    """The ``Publish`` request for a publish into one stream, validated here exactly as in
    process.

    So bad input fails identically and never travels (the server checks again, for
    clients in other languages). Every event gets an id, which makes retries safe.
    """
    stream = validate_target(target)  # first, as in process: the same error comes first
    # Kept to rebuild the answer, so a one-shot iterable is read once, here. A mapping
    # goes to prepare_events as it is, to be refused with its own message.
    if not isinstance(events, (Sequence, Mapping)):
        events = list(events)
    request = publish_request_to_wire(stream, prepare_events(events), conditions)
    # prepare_events accepted it: a sequence of NewEvent.
    return PreparedPublish(stream, cast(Sequence[NewEvent], events), request)


def writes_request(
    writes: Sequence[StreamWrite], conditions: Set[WriteCondition]
) -> PreparedPublish:
    """The ``Publish`` request for a publish into several streams (``writes``), validated
    by ``prepare_writes`` exactly as in process, every event given an id."""
    pending, checked = prepare_writes(writes, conditions)
    request = writes_request_to_wire(pending, checked)
    # prepare_writes accepted them: StreamWrites of sequences of NewEvent.
    events = [event for write in writes for event in write.events]
    return PreparedPublish(None, events, request, tuple(writes))
