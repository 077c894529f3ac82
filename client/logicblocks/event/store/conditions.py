"""Write conditions: consistency checks made atomically with a publish.

The conditions are closed data, the kinds the wire can carry:

- on one stream: ``position_is(n)`` and ``stream_is_empty()``, judged from the stream's
  last position alone, so no engine fetches a last event for them;
- on a query: ``no_event_matches(query, after_sequence_number=n)``, judged from the first
  event matching the query after ``n`` (dynamic consistency boundaries);
- combined: ``a & b`` (all hold) and ``a | b`` (any holds).

Every engine judges them here, through a ``ConditionState`` that answers the two
questions from its storage, inside its write transaction and under its write lock.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass
from typing import Any, Protocol

from logicblocks.event.types import StoredEvent, identifier
from logicblocks.event.types.query import Query

from .exceptions import InvalidInputError, UnmetWriteConditionError
from .selection import validate_query

__all__ = [
    "AllConditions",
    "AnyCondition",
    "ConditionState",
    "EmptyStreamCondition",
    "NoEventMatchesCondition",
    "PositionIsCondition",
    "WriteCondition",
    "check_conditions",
    "condition_queries",
    "ensure_conditions",
    "no_event_matches",
    "position_is",
    "stream_is_empty",
    "validate_conditions",
]


class ConditionState(Protocol):
    """What an engine answers, under its write lock, for conditions to be judged."""

    def last_position(self, target: identifier.Stream) -> int | None:
        """The position of the stream's last event, ``None`` when it has none."""
        ...

    def first_match(self, query: Query, after: int) -> int | None:
        """The sequence number of the first event matching ``query`` with a sequence
        number greater than ``after``, ``None`` when there is none."""
        ...


class WriteCondition(ABC):
    """A condition that must hold for a publish to go ahead.

    Closed: the kinds are the ones defined here, which every engine and the wire know.
    ``a & b`` holds when both do, ``a | b`` when either does.
    """

    stream_bound: bool = True
    """Whether the condition is about one stream (it then goes with that stream's write)."""

    def __and__(self, other: "WriteCondition") -> "WriteCondition":
        if not isinstance(other, WriteCondition):
            return NotImplemented
        return AllConditions(
            conditions=(*_parts(self, AllConditions), *_parts(other, AllConditions))
        )

    def __or__(self, other: "WriteCondition") -> "WriteCondition":
        if not isinstance(other, WriteCondition):
            return NotImplemented
        return AnyCondition(conditions=(*_parts(self, AnyCondition), *_parts(other, AnyCondition)))

    def leaves(self) -> Iterator["WriteCondition"]:
        """The simple conditions this one is made of (itself, when it is simple)."""
        yield self

    def failure_in(
        self, target: identifier.Stream | None, state: ConditionState
    ) -> UnmetWriteConditionError | None:
        """The error saying why the condition fails for the ``target`` stream's write (or
        the publish as a whole, ``None``) in ``state``; ``None`` when it holds."""
        position = None if target is None else state.last_position(target)
        if self.holds(position):
            return None
        return UnmetWriteConditionError(
            self.failure,
            category=None if target is None else target.category,
            stream=None if target is None else target.stream,
            condition=self,
            last_position=position,
        )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            raise TypeError(
                "write conditions are closed: use position_is(...) or stream_is_empty()"
            )

    @abstractmethod
    def holds(self, last_position: int | None) -> bool:
        """Whether the condition holds for a stream whose last event is at
        ``last_position`` (``None`` for an empty stream)."""
        raise NotImplementedError()

    @property
    @abstractmethod
    def failure(self) -> str:
        """What an unmet condition says."""
        raise NotImplementedError()

    def ensure(self, last_event: StoredEvent | None) -> None:
        """Raise ``UnmetWriteConditionError`` unless the condition holds.

        ``last_event`` is the stream's last event, ``None`` for an empty stream.
        """
        if not self.holds(None if last_event is None else last_event.position):
            raise UnmetWriteConditionError(self.failure)


@dataclass(frozen=True)
class PositionIsCondition(WriteCondition):
    """The stream's last event is at ``position``."""

    position: int

    def __post_init__(self) -> None:
        if (
            not isinstance(self.position, int)
            or isinstance(self.position, bool)
            or self.position < 0
        ):
            raise InvalidInputError("position", "must be an integer >= 0")

    def holds(self, last_position: int | None) -> bool:
        # Compares values: the documented `is not` broke for positions above 256.
        return last_position == self.position

    @property
    def failure(self) -> str:
        return "unexpected stream position"


@dataclass(frozen=True)
class EmptyStreamCondition(WriteCondition):
    """The stream has no events."""

    def holds(self, last_position: int | None) -> bool:
        return last_position is None

    @property
    def failure(self) -> str:
        return "stream is not empty"


@dataclass(frozen=True)
class NoEventMatchesCondition(WriteCondition):
    """No event matching ``query`` has a sequence number greater than
    ``after_sequence_number`` (none at all when it is ``None``).

    The condition of a decision made from a read of ``query``: pass the last sequence
    number that read saw (or the head it read at), and the publish fails if anything the
    read would now see has been stored since. Exact, because sequence numbers are
    gap-free and in commit order: "after n" misses nothing committed later.
    """

    query: Query
    after_sequence_number: int | None = None
    stream_bound = False

    def __post_init__(self) -> None:
        after = self.after_sequence_number
        if after is not None and (
            not isinstance(after, int) or isinstance(after, bool) or after < -1
        ):
            raise InvalidInputError("after_sequence_number", "must be an integer >= -1")

    def holds(self, last_position: int | None) -> bool:
        raise TypeError("a query condition is judged by failure_in, from a ConditionState")

    @property
    def failure(self) -> str:
        return "an event matching the query was stored after the given sequence number"

    def failure_in(
        self, target: identifier.Stream | None, state: ConditionState
    ) -> UnmetWriteConditionError | None:
        after = -1 if self.after_sequence_number is None else self.after_sequence_number
        first = state.first_match(self.query, after)
        if first is None:
            return None
        return UnmetWriteConditionError(
            f"{self.failure} ({first} > {after})",
            condition=self,
            first_match_sequence_number=first,
        )


@dataclass(frozen=True)
class AllConditions(WriteCondition):
    """Every one of ``conditions`` holds (``a & b``)."""

    conditions: tuple[WriteCondition, ...]

    @property
    def stream_bound(self) -> bool:  # type: ignore[override]
        return any(condition.stream_bound for condition in self.conditions)

    def leaves(self) -> Iterator[WriteCondition]:
        for condition in self.conditions:
            yield from condition.leaves()

    def holds(self, last_position: int | None) -> bool:
        return all(condition.holds(last_position) for condition in self.conditions)

    @property
    def failure(self) -> str:
        return "a condition of an & did not hold"

    def failure_in(
        self, target: identifier.Stream | None, state: ConditionState
    ) -> UnmetWriteConditionError | None:
        # The first that fails is the one reported: it alone decides the outcome.
        for condition in self.conditions:
            error = condition.failure_in(target, state)
            if error is not None:
                return error
        return None


@dataclass(frozen=True)
class AnyCondition(WriteCondition):
    """At least one of ``conditions`` holds (``a | b``)."""

    conditions: tuple[WriteCondition, ...]

    @property
    def stream_bound(self) -> bool:  # type: ignore[override]
        return any(condition.stream_bound for condition in self.conditions)

    def leaves(self) -> Iterator[WriteCondition]:
        for condition in self.conditions:
            yield from condition.leaves()

    def holds(self, last_position: int | None) -> bool:
        return any(condition.holds(last_position) for condition in self.conditions)

    @property
    def failure(self) -> str:
        return "no condition of an | held"

    def failure_in(
        self, target: identifier.Stream | None, state: ConditionState
    ) -> UnmetWriteConditionError | None:
        errors = []
        for condition in self.conditions:
            error = condition.failure_in(target, state)
            if error is None:
                return None
            errors.append(error)
        # Every alternative failed: say so, with the first one's particulars.
        first = errors[0]
        return UnmetWriteConditionError(
            f"{self.failure}: " + "; ".join(error.message for error in errors),
            category=first.category,
            stream=first.stream,
            condition=self,
            last_position=first.last_position,
            first_match_sequence_number=first.first_match_sequence_number,
        )


def _parts(condition: WriteCondition, kind: type) -> tuple[WriteCondition, ...]:
    """``condition``'s parts when it is already a ``kind`` (so ``a & b & c`` is flat)."""
    if isinstance(condition, (AllConditions, AnyCondition)) and isinstance(condition, kind):
        return condition.conditions
    return (condition,)


def no_event_matches(query: Query, *, after_sequence_number: int | None = None) -> WriteCondition:
    """A condition that no event matching ``query`` was stored after
    ``after_sequence_number`` (none at all when it is ``None``)."""
    if not isinstance(query, Query):
        raise InvalidInputError("query", "must be a Query")
    return NoEventMatchesCondition(query=query, after_sequence_number=after_sequence_number)


def position_is(position: int) -> WriteCondition:
    """A condition that the stream's last event is at ``position``."""
    return PositionIsCondition(position=position)


def stream_is_empty() -> WriteCondition:
    """A condition that the stream has no events."""
    return EmptyStreamCondition()


def check_conditions(
    bound: Iterable[tuple[identifier.Stream | None, Set[WriteCondition]]],
    state: ConditionState,
) -> None:
    """Judge each ``(stream, conditions)`` pair of a publish in ``state`` (the stream is
    ``None`` for the publish's own conditions, which are about queries only).

    Raises the ``UnmetWriteConditionError`` of the first condition that fails, carrying the
    stream, the condition and why (the stream's last position, or the sequence number of
    the first matching event), so callers and the gRPC status details can report them.
    """
    for target, conditions in bound:
        for condition in conditions:
            error = condition.failure_in(target, state)
            if error is not None:
                raise error


def condition_queries(
    conditions: Iterable[WriteCondition],
) -> Iterator[tuple[Query, int]]:
    """Each ``(query, after)`` the query conditions among ``conditions`` will ask about,
    for an engine that looks them up before judging (``after`` is -1 for "none at all")."""
    for condition in conditions:
        for leaf in condition.leaves():
            if isinstance(leaf, NoEventMatchesCondition):
                after = leaf.after_sequence_number
                yield leaf.query, -1 if after is None else after


@dataclass(frozen=True)
class _OneStream:
    """The state of one stream's last position, for ``ensure_conditions``."""

    position: int | None

    def last_position(self, target: identifier.Stream) -> int | None:
        return self.position

    def first_match(self, query: Query, after: int) -> int | None:
        raise TypeError("ensure_conditions judges stream conditions only")


def ensure_conditions(
    target: identifier.Stream,
    conditions: Set[WriteCondition],
    last_position: int | None,
) -> None:
    """Check stream conditions against the stream's last position (``None``: empty).

    Raises ``UnmetWriteConditionError`` carrying the stream, the failing condition and the
    stream's actual last position.
    """
    check_conditions([(target, conditions)], _OneStream(last_position))


def validate_conditions(field: str, conditions: object, *, stream: bool) -> Set[WriteCondition]:
    """``conditions`` checked, or ``InvalidInputError`` naming the first offender by its
    path (``conditions[0].any_of.conditions[1].no_event_matches.query.items[0].stream``).

    ``stream`` says whether they go with one stream's write: a publish's own conditions
    may not be about one stream (which stream would it be?).
    """
    if isinstance(conditions, (str, bytes)) or not isinstance(conditions, Iterable):
        raise InvalidInputError(field, "must be a set of write conditions")
    checked = list(conditions)
    for index, condition in enumerate(checked):
        _validate_condition(f"{field}[{index}]", condition, stream=stream)
    return frozenset(checked)


def _validate_condition(path: str, condition: object, *, stream: bool) -> None:
    match condition:
        case AllConditions(conditions=parts) | AnyCondition(conditions=parts):
            kind = "all_of" if isinstance(condition, AllConditions) else "any_of"
            if not parts:
                raise InvalidInputError(f"{path}.{kind}.conditions", "must hold a condition")
            for index, part in enumerate(parts):
                _validate_condition(f"{path}.{kind}.conditions[{index}]", part, stream=stream)
        case NoEventMatchesCondition(query=query):
            validate_query(f"{path}.no_event_matches.query", query)
        case PositionIsCondition() | EmptyStreamCondition():
            if not stream:
                raise InvalidInputError(
                    path,
                    "is about one stream: give it with that stream's write (writes[i].conditions)",
                )
        case _:
            raise InvalidInputError(path, "must be a write condition")
