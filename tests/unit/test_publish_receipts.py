"""A publish on the wire: timestamps sent only when given, answers rebuilt from receipts."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from logicblocks.event.server.wire import publish_response, record_to_receipt
from logicblocks.event.store import PermissionDeniedError, PublishOutcomeUnknownError
from logicblocks.event.store.records import new_event_ids, prepare_events, trusted_event_record
from logicblocks.event.transport.client import publish_request
from logicblocks.event.transport.wire import (
    events_with_ids,
    pending_event_to_wire,
    stored_events_from_receipts,
)
from logicblocks.event.types import NewEvent, StaticClock, identifier
from logicblocks.event.v1 import event_store_pb2

STREAM = identifier.Stream(category="orders", stream="o-1")
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def test_only_timestamps_the_caller_gave_are_sent() -> None:
    defaulted, observed, occurred, clocked = prepare_events(
        [
            NewEvent(name="a", payload={}),
            NewEvent(name="b", payload={}, observed_at=WHEN),
            NewEvent(name="c", payload={}, occurred_at=WHEN),
            NewEvent(name="d", payload={}, clock=StaticClock(WHEN)),
        ]
    )
    sent = [pending_event_to_wire(event) for event in (defaulted, observed, occurred, clocked)]
    assert [(e.HasField("observed_at"), e.HasField("occurred_at")) for e in sent] == [
        (False, False),
        (True, False),
        (False, True),
        (True, False),
    ]
    assert all(event.HasField("id") for event in sent)


def test_events_to_retry_keep_their_ids_and_leave_defaults_to_default() -> None:
    events = [
        NewEvent(name="a", payload={"n": 1}),
        NewEvent(name="b", payload={}, observed_at=WHEN),
    ]
    request = event_store_pb2.PublishRequest(
        events=[pending_event_to_wire(event) for event in prepare_events(events)]
    )
    retry = events_with_ids(events, request)
    assert [event.id for event in retry] == [event.id for event in request.events]
    assert [event.observed_at_given for event in retry] == [False, True]
    assert retry[1].observed_at == WHEN
    assert retry[0].payload is events[0].payload


def test_stored_events_are_rebuilt_from_what_was_sent_and_the_receipts() -> None:
    events = [NewEvent(id="e-1", name="placed", payload={"big": 10**30})]
    record = trusted_event_record(
        "e-1", "placed", "o-1", "orders", 3, 41, '{"big":' + str(10**30) + "}", WHEN, WHEN
    )
    response = event_store_pb2.PublishResponse(receipts=[record_to_receipt(record)])
    assert stored_events_from_receipts(STREAM, events, response) == [record.to_stored_event()]


def test_receipts_carry_each_events_own_timestamps() -> None:
    later = WHEN + timedelta(microseconds=1)
    events = [NewEvent(name="a", payload={}), NewEvent(name="b", payload={})]
    records = [
        trusted_event_record("e-1", "a", "o-1", "orders", 0, 7, "{}", WHEN, WHEN),
        trusted_event_record("e-2", "b", "o-1", "orders", 1, 8, "{}", WHEN, later),
    ]
    stored = stored_events_from_receipts(STREAM, events, publish_response(records))
    assert [(event.observed_at, event.occurred_at) for event in stored] == [
        (WHEN, WHEN),
        (WHEN, later),
    ]
    assert [event.id for event in stored] == ["e-1", "e-2"]


def test_ids_made_for_events_without_one_are_random_version_4_uuids() -> None:
    ids = [made for _ in range(10) for made in new_event_ids(100)]
    assert len(set(ids)) == len(ids)
    for made in ids:
        parsed = uuid.UUID(made)
        assert str(parsed) == made
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


def test_an_answer_that_does_not_match_the_events_is_an_unknown_outcome() -> None:
    events = [NewEvent(id="e-1", name="placed", payload={})]
    with pytest.raises(PublishOutcomeUnknownError, match="0 receipts for 1 events"):
        stored_events_from_receipts(STREAM, events, event_store_pb2.PublishResponse())


class _Refused(grpc.RpcError):
    """A failed call as grpc raises it: a status code and a message, no details."""

    def __init__(self, code: grpc.StatusCode, message: str):
        self._code, self._message = code, message

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._message

    def trailing_metadata(self) -> tuple[()]:
        return ()


def test_a_certain_refusal_after_an_uncertain_attempt_leaves_the_publish_uncertain() -> None:
    publish = publish_request(
        identifier.Stream(category="c", stream="s"), [NewEvent(name="n", payload={})], set()
    )
    refused = _Refused(grpc.StatusCode.PERMISSION_DENIED, "this token is read-only")

    assert isinstance(publish.error(refused), PermissionDeniedError)
    # The earlier attempt (DEADLINE_EXCEEDED, say) may still commit: nothing is certain.
    uncertain = publish.error(refused, after_uncertain=True)
    assert isinstance(uncertain, PublishOutcomeUnknownError)
    assert [event.id for event in uncertain.events] == [wire.id for wire in publish.request.events]
