"""Where reads start, and the write conditions: the I/O-free rules every engine shares."""

import pytest

from logicblocks.event.store import InvalidInputError, UnmetWriteConditionError
from logicblocks.event.store.conditions import (
    EmptyStreamCondition,
    PositionIsCondition,
    WriteCondition,
    ensure_conditions,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.start import (
    FROM_BEGINNING,
    FROM_END,
    NO_EVENTS,
    After,
    StartBeyondHeadError,
    read_start,
    scan_after,
    start_after,
)
from logicblocks.event.types import identifier


@pytest.mark.parametrize(
    ("after", "from_end", "expected"),
    [
        (None, False, FROM_BEGINNING),
        (None, True, FROM_END),
        (-1, False, After(-1)),
        (0, False, After(0)),
        (2**62, False, After(2**62)),
    ],
)
def test_the_documented_arguments_become_one_start(
    after: int | None, from_end: bool, expected: object
) -> None:
    assert read_start(after_sequence_number=after, from_end=from_end) == expected


@pytest.mark.parametrize(
    ("after", "from_end", "rule"),
    [
        (-2, False, "must be an integer >= -1"),
        (True, False, "must be an integer >= -1"),
        ("3", False, "must be an integer >= -1"),
        (3, True, "cannot be given together with from_end=True"),
    ],
)
def test_bad_starts_are_refused_by_name(after: object, from_end: bool, rule: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        read_start(after_sequence_number=after, from_end=from_end)
    assert (raised.value.field, raised.value.rule) == ("after_sequence_number", rule)


def test_a_scan_resumes_after_the_number_given_or_from_the_first_event() -> None:
    assert scan_after(None) == NO_EVENTS
    assert scan_after(7) == 7


@pytest.mark.parametrize(
    ("start", "head", "after"),
    [
        (FROM_BEGINNING, NO_EVENTS, NO_EVENTS),
        (FROM_BEGINNING, 9, NO_EVENTS),
        (FROM_END, NO_EVENTS, NO_EVENTS),
        (FROM_END, 9, 9),
        (After(4), 9, 4),
        (After(9), 9, 9),
        (After(-1), NO_EVENTS, NO_EVENTS),
    ],
)
def test_a_subscription_resumes_after_its_start_resolved_against_the_head(
    start: object, head: int, after: int
) -> None:
    assert start_after(start, head) == after  # type: ignore[arg-type]


def test_a_start_beyond_the_head_is_refused_with_the_true_head() -> None:
    with pytest.raises(StartBeyondHeadError) as raised:
        start_after(After(10), 9)
    assert raised.value.field == "after_sequence_number"
    assert raised.value.head == 9


@pytest.mark.parametrize(
    ("condition", "last_position", "holds"),
    [
        (stream_is_empty(), None, True),
        (stream_is_empty(), 0, False),
        (position_is(0), None, False),
        (position_is(0), 0, True),
        (position_is(1000), 1000, True),
        (position_is(1000), 999, False),
    ],
)
def test_conditions_are_judged_from_the_last_position_alone(
    condition: WriteCondition, last_position: int | None, holds: bool
) -> None:
    assert condition.holds(last_position) is holds


def test_an_unmet_condition_names_the_stream_the_condition_and_the_last_position() -> None:
    stream = identifier.Stream(category="c", stream="s")
    with pytest.raises(UnmetWriteConditionError) as raised:
        ensure_conditions(stream, {position_is(3)}, 5)
    error = raised.value
    assert (error.category, error.stream, error.condition, error.last_position) == (
        "c",
        "s",
        PositionIsCondition(position=3),
        5,
    )
    ensure_conditions(stream, {EmptyStreamCondition()}, None)


def test_write_conditions_are_closed_to_new_kinds() -> None:
    with pytest.raises(TypeError, match="closed"):

        class Custom(WriteCondition):
            def holds(self, last_position: int | None) -> bool:
                return True

            @property
            def failure(self) -> str:
                return ""
