"""Value types: frozen, hashable, json and repr as documented."""

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from logicblocks.event.store import InvalidInputError, position_is, stream_is_empty
from logicblocks.event.store.conditions import EmptyStreamCondition, PositionIsCondition
from logicblocks.event.testing import NewEventBuilder, StoredEventBuilder
from logicblocks.event.types import NewEvent, StaticClock, identifier


def test_identifiers_are_frozen_hashable_and_described() -> None:
    stream = identifier.Stream(category="c", stream="s")
    assert stream == identifier.Stream(category="c", stream="s")
    assert len({stream, identifier.Stream(category="c", stream="s")}) == 1
    assert json.loads(stream.json()) == {"type": "stream", "category": "c", "stream": "s"}
    assert repr(stream) == "identifier.Stream(category=c,stream=s)"
    assert repr(identifier.Category(category="c")) == "identifier.Category(category=c)"
    assert repr(identifier.Log()) == "identifier.Log()"
    with pytest.raises(dataclasses.FrozenInstanceError):
        stream.category = "other"  # type: ignore[misc]


def test_new_event_defaults_its_times_from_the_clock() -> None:
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    event = NewEvent(name="n", payload={"a": 1}, clock=StaticClock(now))
    assert event.observed_at == now
    assert event.occurred_at == now
    assert json.loads(event.json()) == {
        "name": "n",
        "payload": {"a": 1},
        "observedAt": now.isoformat(),
        "occurredAt": now.isoformat(),
    }
    assert hash(event) == hash(NewEvent(name="n", payload={"a": 1}, clock=StaticClock(now)))


def test_builders_are_immutable() -> None:
    builder = NewEventBuilder().with_name("first")
    other = builder.with_name("second")
    assert builder.build().name == "first"
    assert other.build().name == "second"
    stored = StoredEventBuilder().with_position(7).with_sequence_number(9).build()
    assert (stored.position, stored.sequence_number) == (7, 9)
    assert "position=7" in repr(stored)


def test_conditions_compare_values() -> None:
    assert position_is(1000) == PositionIsCondition(position=1000)
    assert stream_is_empty() == EmptyStreamCondition()
    position_is(1000).ensure(StoredEventBuilder().with_position(int("1000")).build())


def test_a_negative_position_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="position"):
        PositionIsCondition(position=-5)


def test_events_render_integers_of_any_length_as_json() -> None:
    # Payloads may hold integers longer than Python turns into text by itself (4,300
    # digits); json() writes every digit, as storage and the wire do.
    huge = 7 * 10**5000 + 3
    new = NewEvent(name="measured", payload={"value": huge, "items": [huge]})
    stored = StoredEventBuilder().with_payload({"value": -huge}).build()

    # Read back as decimals: Python's own int() refuses such text too.
    exact = Decimal(huge)
    assert json.loads(new.json(), parse_int=Decimal)["payload"] == {
        "value": exact,
        "items": [exact],
    }
    assert json.loads(stored.json(), parse_int=Decimal)["payload"] == {"value": Decimal(-huge)}
