"""Retry resolution and numbering, the I/O-free rules every engine applies under its lock.

Recognising a retried publish (``publishing.resolve_retry``), without a backend: a publish
whose ids are all stored as the same events returns them, one whose ids are unknown is
written, and anything between is refused naming the event."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.publishing import resolve_retry
from logicblocks.event.store.records import (
    EventRecord,
    PendingEvent,
    number_events,
    prepare_events,
    trusted_event_record,
)
from logicblocks.event.types import NewEvent, identifier

TARGET = identifier.Stream(category="orders", stream="o-1")
OBSERVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OCCURRED = datetime(2024, 5, 1, 11, 0, tzinfo=UTC)


def new(id: str, *, timestamps: bool = True, name: str = "placed") -> NewEvent:
    if timestamps:
        return NewEvent(
            name=name, payload={"id": id}, id=id, observed_at=OBSERVED, occurred_at=OCCURRED
        )
    return NewEvent(name=name, payload={"id": id}, id=id)


def pending(*events: NewEvent) -> list[PendingEvent]:
    return prepare_events(events)


def stored(
    event: PendingEvent,
    position: int,
    *,
    target: identifier.Stream = TARGET,
    observed_at: datetime = OBSERVED,
    occurred_at: datetime = OCCURRED,
) -> EventRecord:
    """``event`` as a backend would have stored it by an earlier publish."""
    return trusted_event_record(
        event.id,
        event.name,
        target.stream,
        target.category,
        position,
        100 + position,
        event.payload,
        observed_at,
        occurred_at,
    )


def refusal(events: list[PendingEvent], found: dict[str, EventRecord]) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as raised:
        resolve_retry(TARGET, events, found)
    return raised.value


def test_a_publish_with_no_stored_ids_is_written_as_usual() -> None:
    events = pending(new("a"), new("b"))

    assert resolve_retry(TARGET, events, {}) is None


def test_a_publish_stored_whole_returns_the_stored_records_in_request_order() -> None:
    events = pending(new("a"), new("b"), new("c"))
    records = [stored(event, position) for position, event in enumerate(events)]
    # The lookup's order is the backend's: the answer follows the request.
    found = {record.id: record for record in reversed(records)}

    assert resolve_retry(TARGET, events, found) == records


@pytest.mark.parametrize(
    "elsewhere",
    [
        identifier.Stream(category="orders", stream="o-2"),
        identifier.Stream(category="invoices", stream="o-1"),
    ],
    ids=["other stream", "other category"],
)
def test_an_id_stored_in_another_stream_is_refused_naming_the_event(
    elsewhere: identifier.Stream,
) -> None:
    events = pending(new("a"), new("b"))
    found = {
        "a": stored(events[0], 0),
        "b": stored(events[1], 0, target=elsewhere),
    }

    error = refusal(events, found)

    assert error.field == "events[1].id"
    assert "another stream" in error.rule


@pytest.mark.parametrize(
    "difference",
    [
        {"name": "cancelled"},
        {"payload": '{"id":"b","extra":1}'},
        {"observed_at": OBSERVED + timedelta(microseconds=1)},
        {"occurred_at": OCCURRED - timedelta(seconds=1)},
    ],
    ids=["name", "payload text", "given observed_at", "given occurred_at"],
)
def test_an_id_stored_with_other_content_is_refused_naming_the_event(
    difference: dict[str, object],
) -> None:
    events = pending(new("a"), new("b"))
    found = {
        "a": stored(events[0], 0),
        "b": replace(stored(events[1], 1), **difference),  # type: ignore[arg-type]
    }

    error = refusal(events, found)

    assert error.field == "events[1].id"
    assert "different event" in error.rule


def test_timestamps_the_client_did_not_give_do_not_tell_a_retry_apart() -> None:
    # The first attempt was stamped by an earlier clock: the retry's "now" differs.
    events = pending(new("a", timestamps=False), new("b", timestamps=False))
    assert not events[0].observed_at_given and not events[0].occurred_at_given
    earlier = events[0].observed_at - timedelta(minutes=5)
    records = [
        stored(event, position, observed_at=earlier, occurred_at=earlier)
        for position, event in enumerate(events)
    ]

    assert resolve_retry(TARGET, events, {record.id: record for record in records}) == records


def test_a_given_observed_at_is_compared_while_a_defaulted_occurred_at_is_not() -> None:
    event = NewEvent(name="placed", payload={}, id="a", observed_at=OBSERVED)
    (prepared,) = pending(event)
    assert prepared.observed_at_given and not prepared.occurred_at_given
    same = stored(prepared, 0, occurred_at=OCCURRED - timedelta(days=1))
    moved = stored(prepared, 0, observed_at=OBSERVED + timedelta(seconds=1))

    assert resolve_retry(TARGET, [prepared], {"a": same}) == [same]
    assert refusal([prepared], {"a": moved}).field == "events[0].id"


def test_a_given_timestamp_in_another_zone_is_the_same_instant() -> None:
    local = OBSERVED.astimezone(timezone(timedelta(hours=2)))
    event = NewEvent(name="placed", payload={}, id="a", observed_at=local, occurred_at=local)
    (prepared,) = pending(event)
    record = stored(prepared, 0, observed_at=OBSERVED, occurred_at=OBSERVED)

    assert resolve_retry(TARGET, [prepared], {"a": record}) == [record]


def test_a_publish_only_partly_stored_is_refused_naming_the_first_stored_event() -> None:
    events = pending(new("a"), new("b"), new("c"), new("d"))
    found = {"d": stored(events[3], 1), "b": stored(events[1], 0)}

    error = refusal(events, found)

    assert error.field == "events[1].id"
    assert "other events of the publish are not" in error.rule


def test_a_partly_stored_publish_is_refused_even_when_its_stored_event_comes_last() -> None:
    events = pending(new("a"), new("b"))

    assert refusal(events, {"b": stored(events[1], 0)}).field == "events[1].id"


def test_a_publish_is_numbered_after_the_stream_and_the_store() -> None:
    stream = identifier.Stream(category="c", stream="s")
    events = prepare_events([NewEvent(name=f"e{n}", payload={}) for n in range(3)])

    first = number_events(stream, events, last_position=None, head=-1)
    assert [(r.position, r.sequence_number) for r in first] == [(0, 0), (1, 1), (2, 2)]
    later = number_events(stream, events, last_position=6, head=41)
    assert [(r.position, r.sequence_number) for r in later] == [(7, 42), (8, 43), (9, 44)]
    assert [(r.id, r.name, r.category, r.stream) for r in later] == [
        (e.id, e.name, "c", "s") for e in events
    ]
