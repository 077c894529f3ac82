"""Immutable builders of events for tests: defaults are random, ``with_*`` overrides."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self

from logicblocks.event.types import NewEvent, StoredEvent

from . import data

__all__ = ["NewEventBuilder", "StoredEventBuilder"]


@dataclass(frozen=True)
class NewEventBuilder:
    """Builds ``NewEvent``s; each ``with_*`` returns a new builder."""

    name: str = field(default_factory=data.random_event_name)
    payload: Mapping[str, Any] = field(default_factory=data.random_event_payload)
    observed_at: datetime = field(default_factory=data.random_timestamp)
    occurred_at: datetime | None = None
    id: str | None = None
    tags: frozenset[str] = frozenset()
    metadata: Mapping[str, Any] | None = None

    def with_name(self, name: str) -> Self:
        return replace(self, name=name)

    def with_payload(self, payload: Mapping[str, Any]) -> Self:
        return replace(self, payload=payload)

    def with_observed_at(self, observed_at: datetime) -> Self:
        return replace(self, observed_at=observed_at)

    def with_occurred_at(self, occurred_at: datetime) -> Self:
        return replace(self, occurred_at=occurred_at)

    def with_id(self, id: str | None) -> Self:
        return replace(self, id=id)

    def with_tags(self, tags: Iterable[str]) -> Self:
        return replace(self, tags=frozenset(tags))

    def with_metadata(self, metadata: Mapping[str, Any] | None) -> Self:
        return replace(self, metadata=metadata)

    def build(self) -> NewEvent:
        return NewEvent(
            name=self.name,
            payload=self.payload,
            observed_at=self.observed_at,
            occurred_at=self.occurred_at if self.occurred_at is not None else self.observed_at,
            id=self.id,
            tags=self.tags,
            metadata=self.metadata,
        )


@dataclass(frozen=True)
class StoredEventBuilder:
    """Builds ``StoredEvent``s; each ``with_*`` returns a new builder."""

    id: str = field(default_factory=data.random_event_id)
    name: str = field(default_factory=data.random_event_name)
    stream: str = field(default_factory=data.random_stream_name)
    category: str = field(default_factory=data.random_category_name)
    position: int = field(default_factory=lambda: data.random_int(0, 1000))
    sequence_number: int = field(default_factory=lambda: data.random_int(0, 100_000))
    payload: Mapping[str, Any] = field(default_factory=data.random_event_payload)
    observed_at: datetime = field(default_factory=data.random_timestamp)
    occurred_at: datetime | None = None

    def with_id(self, id: str) -> Self:
        return replace(self, id=id)

    def with_name(self, name: str) -> Self:
        return replace(self, name=name)

    def with_stream(self, stream: str) -> Self:
        return replace(self, stream=stream)

    def with_category(self, category: str) -> Self:
        return replace(self, category=category)

    def with_position(self, position: int) -> Self:
        return replace(self, position=position)

    def with_sequence_number(self, sequence_number: int) -> Self:
        return replace(self, sequence_number=sequence_number)

    def with_payload(self, payload: Mapping[str, Any]) -> Self:
        return replace(self, payload=payload)

    def with_observed_at(self, observed_at: datetime) -> Self:
        return replace(self, observed_at=observed_at)

    def with_occurred_at(self, occurred_at: datetime) -> Self:
        return replace(self, occurred_at=occurred_at)

    def build(self) -> StoredEvent:
        return StoredEvent(
            id=self.id,
            name=self.name,
            stream=self.stream,
            category=self.category,
            position=self.position,
            sequence_number=self.sequence_number,
            payload=self.payload,
            observed_at=self.observed_at,
            occurred_at=self.occurred_at if self.occurred_at is not None else self.observed_at,
        )
