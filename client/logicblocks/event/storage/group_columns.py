"""A consumer group's values as the SQL engines store them: JSON text in plain columns.

SQLite and PostgreSQL keep the same text, so the two engines cannot drift apart in what a
stored group means. Everything round-trips exactly: a target of any kind (a ``Query`` with
its items in order), a start, and settings whose floats are written by ``repr`` (which
Python reads back to the same float).
"""

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from logicblocks.event.store.groups import (
    FROM_BEGINNING,
    FROM_END,
    After,
    GroupSettings,
    GroupStart,
    GroupTarget,
)
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query, QueryItem

from .groups.records import GroupDefinition, PartitionProgress

__all__ = [
    "attempts_from_text",
    "attempts_text",
    "definition_from_columns",
    "numbers_from_text",
    "numbers_text",
    "progress_from_columns",
    "settings_text",
    "start_text",
    "target_text",
]


def target_text(target: GroupTarget) -> str:
    """The target as its JSON object (the identifiers' own ``json()``)."""
    return target.json()


def _target(text: str) -> GroupTarget:
    value: dict[str, Any] = json.loads(text)
    match value["type"]:
        case "log":
            return identifier.Log()
        case "category":
            return identifier.Category(category=value["category"])
        case "stream":
            return identifier.Stream(category=value["category"], stream=value["stream"])
        case "query":
            return Query(
                items=[
                    QueryItem(
                        category=item["category"],
                        stream=item["stream"],
                        names=item["names"],
                        tags=item["tags"],
                    )
                    for item in value["items"]
                ]
            )
    raise ValueError(f"not a stored group target: {text!r}")


def start_text(start: GroupStart) -> str:
    """The start as a JSON object: ``{"type": "beginning" | "end" | "after", ...}``."""
    if start == FROM_BEGINNING:
        return json.dumps({"type": "beginning"})
    if start == FROM_END:
        return json.dumps({"type": "end"})
    assert isinstance(start, After)
    return json.dumps({"type": "after", "sequence_number": start.sequence_number})


def _start(text: str) -> GroupStart:
    value: dict[str, Any] = json.loads(text)
    match value["type"]:
        case "beginning":
            return FROM_BEGINNING
        case "end":
            return FROM_END
        case "after":
            return After(value["sequence_number"])
    raise ValueError(f"not a stored group start: {text!r}")


def settings_text(settings: GroupSettings) -> str:
    """The settings as a JSON object of their fields (ints stay ints, floats exact)."""
    return json.dumps(dataclasses.asdict(settings), sort_keys=True)


def definition_from_columns(
    name: str, target: str, start: str, start_after: int, settings: str, generation: int
) -> GroupDefinition:
    """The group a stored row holds, its columns in this order."""
    return GroupDefinition(
        name=name,
        target=_target(target),
        start=_start(start),
        start_after=int(start_after),
        settings=GroupSettings(**json.loads(settings)),
        generation=int(generation),
    )


def numbers_text(numbers: Sequence[int]) -> str:
    """Sequence numbers as a compact JSON array."""
    return json.dumps(list(numbers), separators=(",", ":"))


def numbers_from_text(text: str) -> tuple[int, ...]:
    """The sequence numbers ``numbers_text`` wrote."""
    return tuple(int(number) for number in json.loads(text))


def attempts_text(attempts: Sequence[tuple[int, int]]) -> str:
    """``(sequence_number, attempts)`` pairs as a compact JSON array of pairs."""
    return json.dumps([list(pair) for pair in attempts], separators=(",", ":"))


def attempts_from_text(text: str) -> tuple[tuple[int, int], ...]:
    """The pairs ``attempts_text`` wrote."""
    return tuple((int(number), int(count)) for number, count in json.loads(text))


def progress_from_columns(
    partition: int, checkpoint: int, done: str, attempts: str
) -> PartitionProgress:
    """A partition's stored progress, its columns in this order."""
    return PartitionProgress(
        partition=int(partition),
        checkpoint=int(checkpoint),
        done=numbers_from_text(done),
        attempts=attempts_from_text(attempts),
    )
