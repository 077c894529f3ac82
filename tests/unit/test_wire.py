"""The wire conversions: timestamps exact to the microsecond, events unchanged both ways."""

import dataclasses
import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from logicblocks.event.server.wire import record_to_wire
from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.records import EventRecord, trusted_event_record
from logicblocks.event.transport.wire import (
    stored_event_from_wire,
    timestamp_from_wire,
    timestamp_to_wire,
)
from logicblocks.event.types import StoredEvent

EDGE_DATETIMES = [
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    datetime(1900, 2, 28, 23, 59, 59, 500_000, tzinfo=UTC),
    datetime(1960, 2, 29, 0, 0, 0, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 34, 56, 789_012, tzinfo=UTC),
    datetime(2000, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


def _library_timestamp(value: datetime) -> Timestamp:
    timestamp = Timestamp()
    timestamp.FromDatetime(value)
    return timestamp


@pytest.mark.parametrize("value", EDGE_DATETIMES, ids=str)
def test_timestamps_match_the_protobuf_library_both_ways(value: datetime) -> None:
    timestamp = timestamp_to_wire(value)

    assert timestamp == _library_timestamp(value)
    back = timestamp_from_wire("observed_at", timestamp)
    assert back == value
    assert back == timestamp.ToDatetime(tzinfo=UTC)
    assert back.tzinfo is UTC
    assert back.microsecond == value.microsecond


@given(st.datetimes(timezones=st.just(UTC)))
def test_any_utc_datetime_round_trips_exactly(value: datetime) -> None:
    timestamp = timestamp_to_wire(value)

    assert timestamp == _library_timestamp(value)
    assert timestamp_from_wire("observed_at", timestamp) == value


def test_an_offset_datetime_is_sent_as_the_same_instant() -> None:
    value = datetime(1950, 6, 1, 3, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    back = timestamp_from_wire("observed_at", timestamp_to_wire(value))

    assert back == value
    assert back.tzinfo is UTC
    assert back.hour == 21 and back.day == 31


def test_a_naive_datetime_is_taken_as_utc_as_the_library_does() -> None:
    value = datetime(1969, 7, 20, 20, 17, 40, 123_456)

    assert timestamp_to_wire(value) == _library_timestamp(value)


def test_nanoseconds_beyond_the_microsecond_are_dropped() -> None:
    timestamp = Timestamp(seconds=-1, nanos=999_999_999)

    assert timestamp_from_wire("observed_at", timestamp) == datetime(
        1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (0, -1),
        (0, 1_000_000_000),
        (-62_135_596_801, 0),
        (253_402_300_800, 0),
    ],
)
def test_timestamps_out_of_range_are_invalid_input_naming_the_field(
    seconds: int, nanos: int
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        timestamp_from_wire("events[0].occurred_at", Timestamp(seconds=seconds, nanos=nanos))

    assert raised.value.field == "events[0].occurred_at"


@pytest.mark.parametrize("value", EDGE_DATETIMES, ids=str)
def test_a_record_crosses_the_wire_into_the_stored_event_it_holds(value: datetime) -> None:
    record = EventRecord(
        id="e-1",
        name="order-placed",
        stream="order-1",
        category="orders",
        position=3,
        sequence_number=41,
        payload='{"big":123456789012345678901234567890,"x":[1,2.5,"é"]}',
        observed_at=value,
        occurred_at=value - timedelta(microseconds=1) if value.year > 1 else value,
    )

    event = stored_event_from_wire(record_to_wire(record))

    assert event == record.to_stored_event()
    assert event.observed_at.tzinfo is UTC and event.occurred_at.tzinfo is UTC
    assert hash(event) == hash(record.to_stored_event())
    assert repr(event) == repr(record.to_stored_event())


def test_stored_events_read_back_are_the_same_as_constructed_ones() -> None:
    at = datetime(1969, 2, 28, 1, 2, 3, 4, tzinfo=UTC)
    constructed = StoredEvent(
        id="e-1",
        name="order-placed",
        stream="order-1",
        category="orders",
        position=3,
        sequence_number=41,
        payload={"a": [1, {"b": None}]},
        observed_at=at,
        occurred_at=at,
    )
    record = EventRecord(
        id="e-1",
        name="order-placed",
        stream="order-1",
        category="orders",
        position=3,
        sequence_number=41,
        payload='{"a":[1,{"b":null}]}',
        observed_at=at,
        occurred_at=at,
    )

    for event in (record.to_stored_event(), stored_event_from_wire(record_to_wire(record))):
        assert type(event) is StoredEvent
        assert event == constructed and constructed == event
        assert hash(event) == hash(constructed)
        assert repr(event) == repr(constructed)
        assert event.json() == constructed.json()
        assert vars(event) == vars(constructed)
        assert dataclasses.asdict(event) == dataclasses.asdict(constructed)
        assert dataclasses.replace(event, position=4) == dataclasses.replace(
            constructed, position=4
        )
        assert pickle.loads(pickle.dumps(event)) == constructed
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.position = 5  # type: ignore[misc]


def test_event_records_read_back_are_the_same_as_constructed_ones() -> None:
    at = datetime(1969, 2, 28, 1, 2, 3, 4, tzinfo=UTC)
    values = (
        "e-1",
        "order-placed",
        "order-1",
        "orders",
        3,
        41,
        '{"a":1}',
        at,
        at,
        ("t:1",),
        '{"m":2}',
    )
    constructed = EventRecord(*values)

    record = trusted_event_record(*values)

    assert type(record) is EventRecord
    assert record == constructed and hash(record) == hash(constructed)
    assert repr(record) == repr(constructed)
    assert dataclasses.astuple(record) == values
    assert dataclasses.replace(record, position=4) == dataclasses.replace(constructed, position=4)
    assert pickle.loads(pickle.dumps(record)) == constructed
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.position = 5  # type: ignore[misc]
