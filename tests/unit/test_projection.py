"""The projector, including the documented defects it fixes."""

from typing import Any

import pytest

from logicblocks.event.projection import MissingHandlerError, ProjectionState, Projector
from logicblocks.event.testing import StoredEventBuilder
from logicblocks.event.types import Projection, StoredEvent


def test_projecting_no_events_returns_the_state_and_no_position() -> None:
    projector = Projector(handlers={})
    projection = projector.project({"a": 1}, [])
    assert projection.state == {"a": 1}
    assert projection.position is None


def test_projecting_folds_each_event_in_order() -> None:
    def add(state: Any, event: StoredEvent) -> Any:
        return state.merge({"total": state.get("total", 0) + event.payload["n"]})

    events = [
        StoredEventBuilder().with_name("add").with_position(i).with_payload({"n": i}).build()
        for i in range(4)
    ]
    projection = Projector(handlers={"add": add}).project({}, iter(events))
    assert projection == Projection(state={"total": 6}, position=3)


def test_handlers_may_return_plain_mappings() -> None:
    projector = Projector(handlers={"set": lambda state, event: {**state, "x": 1}})
    event = StoredEventBuilder().with_name("set").build()
    assert projector.project({}, [event]).state == {"x": 1}


def test_an_event_without_a_handler_raises() -> None:
    event = StoredEventBuilder().with_name("unknown").build()
    with pytest.raises(MissingHandlerError) as raised:
        Projector(handlers={}).project({}, [event])
    assert raised.value.event == event


def test_state_merges_without_changing_the_original() -> None:
    state = ProjectionState({"a": 1})
    merged = state.merge({"b": 2})
    assert state == {"a": 1}
    assert merged == {"a": 1, "b": 2}
    assert merged != {"a": 1}
