"""The one interface each engine implements to keep consumer groups: ``GroupRecords``.

A group's state is stored beside its events (in memory, in the SQLite file, in the
PostgreSQL database), so it survives restarts and every server on one database serves
the same group. What is stored:

- the group's definition (``GroupDefinition``), with a ``generation`` that a reset bumps;
- its live members, each with the time it is counted gone unless it beats again;
- per partition: a lease (the member that owns it and until when) and its progress
  (``PartitionProgress``: a checkpoint, the events done above it, failed attempts);
- its parked events.

Every method is one atomic step of the engine (a transaction, or the in-memory lock).
Leases are compare-and-set: a member writes a partition's progress only while it owns the
partition under the current generation, so an owner that lost its lease (it stalled past
``lease_until``) or a reset cannot be overwritten by a stale one. Times are seconds since
the epoch, given by the caller: replicas on one database must keep their clocks in step
(NTP) to well within the group's ``member_timeout``.

Nothing here decides what to deliver; that is ``dispatch`` (I/O-free) and the consumer.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence, Set
from dataclasses import dataclass

from logicblocks.event.store.groups import (
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
)
from logicblocks.event.store.start import NO_EVENTS

__all__ = ["GroupDefinition", "GroupRecords", "PartitionProgress"]


@dataclass(frozen=True, slots=True)
class GroupDefinition:
    """A group as created (or last reset and updated).

    Attributes:
        name: the group's name.
        target: what it follows.
        start: where it was asked to start (``FROM_END`` is kept as asked).
        start_after: the sequence number it starts after, resolved when it was created or
            reset (``FROM_END``: the head then; ``FROM_BEGINNING``: -1).
        settings: how it delivers.
        generation: bumped by each reset; progress written under an older generation is
            refused.
    """

    name: str
    target: GroupTarget
    start: GroupStart
    start_after: int
    settings: GroupSettings
    generation: int = 0


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """How far a group got in one partition.

    Attributes:
        partition: the partition.
        checkpoint: every event of the partition with a sequence number up to this one is
            done (acknowledged or parked). A partition never claimed starts at the group's
            ``start_after``.
        done: sequence numbers above the checkpoint that are done too, ascending (acks come
            back out of order across streams).
        attempts: ``(sequence_number, failed deliveries)`` of events above the checkpoint
            that failed at least once and are not done, ascending; so a new owner goes on
            counting toward ``max_retries``.
    """

    partition: int
    checkpoint: int
    done: tuple[int, ...] = ()
    attempts: tuple[tuple[int, int], ...] = ()


class GroupRecords(ABC):
    """Stores consumer groups for one engine. Each method is atomic.

    Methods taking a group ``name`` raise ``GroupNotFoundError`` when no group has it
    (but ``create`` and ``leave``).
    """

    @abstractmethod
    def create(self, definition: GroupDefinition) -> GroupDefinition:
        """Store a new group, returned as stored (generation 0).

        When a group of that name exists with the same target and start, returns it as it
        is; with another, raises ``GroupExistsError``.
        """

    @abstractmethod
    def update(self, name: str, settings: GroupSettings) -> GroupDefinition:
        """Replace the group's settings; returns the group. The caller checked that
        ``partitions`` is unchanged."""

    @abstractmethod
    def get(self, name: str) -> GroupDefinition:
        """The group."""

    @abstractmethod
    def all(self) -> Sequence[GroupDefinition]:
        """Every group, by name (in code point order)."""

    @abstractmethod
    def reset(self, name: str, start: GroupStart, start_after: int) -> GroupDefinition:
        """Start the group over after ``start_after``: bump its generation, forget every
        partition's lease and progress and every parked event; returns the group."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Delete the group and everything stored about it."""

    @abstractmethod
    def heartbeat(self, name: str, member: str, *, now: float, expires_at: float) -> list[str]:
        """Count ``member`` live until ``expires_at``, forget members whose time passed
        before ``now``; returns the live members' ids, sorted."""

    @abstractmethod
    def members(self, name: str, *, now: float) -> list[str]:
        """The ids of the members live at ``now``, sorted."""

    @abstractmethod
    def leave(self, name: str, member: str) -> None:
        """Forget ``member`` (its leases stay until they expire or it releases them). No
        error when the group or the member is gone."""

    @abstractmethod
    def claim(
        self,
        name: str,
        *,
        generation: int,
        partition: int,
        member: str,
        now: float,
        lease_until: float,
    ) -> PartitionProgress | None:
        """Take the partition's lease for ``member`` until ``lease_until`` if the group is
        at ``generation`` and the partition is unowned, already the member's, or its
        lease ended before ``now``; returns its progress then, else ``None``."""

    @abstractmethod
    def renew(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        partitions: Set[int],
        lease_until: float,
    ) -> set[int]:
        """Extend the member's leases of ``partitions`` to ``lease_until``; returns the
        partitions it still owned (under ``generation``) and so renewed."""

    @abstractmethod
    def save(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        progress: Sequence[PartitionProgress],
        parked: Sequence[ParkedEvent] = (),
        unparked: Sequence[int] = (),
    ) -> set[int]:
        """In one step, for the partitions the member still owns under ``generation``:
        store their ``progress``, park ``parked`` (replacing a parked row of the same
        sequence number) and delete the parked rows of ``unparked`` (replays that were
        acknowledged). Returns the partitions written; the rest are another's now and
        nothing of theirs is written."""

    @abstractmethod
    def release(self, name: str, *, generation: int, member: str, partitions: Set[int]) -> None:
        """End the member's leases of ``partitions`` now (those it still owns)."""

    @abstractmethod
    def progress(self, name: str) -> list[PartitionProgress]:
        """The stored progress of every partition ever claimed, by partition."""

    @abstractmethod
    def parked(
        self, name: str, *, after: int = NO_EVENTS, limit: int | None = None
    ) -> list[ParkedEvent]:
        """The group's parked events with a sequence number above ``after``, by sequence
        number, at most ``limit`` of them (all when ``None``; otherwise at least 1)."""

    @abstractmethod
    def parked_count(self, name: str) -> int:
        """How many events the group has parked (``len(parked(name))``, counted where
        they are kept: a group that parked every event lists none to say how many)."""

    @abstractmethod
    def replaying(self, name: str, partitions: Set[int]) -> list[ParkedEvent]:
        """The parked events of ``partitions`` an operator asked to replay, by sequence
        number."""

    @abstractmethod
    def replay(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        """Mark parked events (all when ``None``) to be delivered again; returns how many
        parked events were marked (those already replaying included)."""

    @abstractmethod
    def drop(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        """Delete parked events (all when ``None``); returns how many were deleted."""
