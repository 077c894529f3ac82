"""``InMemoryGroupRecords``: consumer groups kept in the process, under one lock."""

import dataclasses
import heapq
import threading
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from logicblocks.event.store.exceptions import GroupExistsError, GroupNotFoundError
from logicblocks.event.store.groups import GroupSettings, GroupStart, ParkedEvent
from logicblocks.event.store.start import NO_EVENTS

from .records import GroupDefinition, GroupRecords, PartitionProgress

__all__ = ["InMemoryGroupRecords"]


@dataclass(slots=True)
class _Lease:
    owner: str
    until: float


@dataclass(slots=True)
class _Group:
    definition: GroupDefinition
    members: dict[str, float] = field(default_factory=dict)
    leases: dict[int, _Lease] = field(default_factory=dict)
    progress: dict[int, PartitionProgress] = field(default_factory=dict)
    parked: dict[int, ParkedEvent] = field(default_factory=dict)


class InMemoryGroupRecords(GroupRecords):
    """Groups of an in-memory store: gone with the process, like its events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}

    def _group(self, name: str) -> _Group:
        group = self._groups.get(name)
        if group is None:
            raise GroupNotFoundError(name)
        return group

    def _owns(self, group: _Group, generation: int, member: str, partition: int) -> bool:
        lease = group.leases.get(partition)
        return (
            group.definition.generation == generation
            and lease is not None
            and lease.owner == member
        )

    def create(self, definition: GroupDefinition) -> GroupDefinition:
        with self._lock:
            existing = self._groups.get(definition.name)
            if existing is None:
                stored = dataclasses.replace(definition, generation=0)
                self._groups[definition.name] = _Group(stored)
                return stored
            if (existing.definition.target, existing.definition.start) != (
                definition.target,
                definition.start,
            ):
                raise GroupExistsError(definition.name)
            return existing.definition

    def update(self, name: str, settings: GroupSettings) -> GroupDefinition:
        with self._lock:
            group = self._group(name)
            group.definition = dataclasses.replace(group.definition, settings=settings)
            return group.definition

    def get(self, name: str) -> GroupDefinition:
        with self._lock:
            return self._group(name).definition

    def all(self) -> Sequence[GroupDefinition]:
        with self._lock:
            return [self._groups[name].definition for name in sorted(self._groups)]

    def reset(self, name: str, start: GroupStart, start_after: int) -> GroupDefinition:
        with self._lock:
            group = self._group(name)
            group.definition = dataclasses.replace(
                group.definition,
                start=start,
                start_after=start_after,
                generation=group.definition.generation + 1,
            )
            group.leases.clear()
            group.progress.clear()
            group.parked.clear()
            return group.definition

    def delete(self, name: str) -> None:
        with self._lock:
            self._group(name)
            del self._groups[name]

    def heartbeat(self, name: str, member: str, *, now: float, expires_at: float) -> list[str]:
        with self._lock:
            group = self._group(name)
            group.members[member] = expires_at
            return self._live(group, now)

    def members(self, name: str, *, now: float) -> list[str]:
        with self._lock:
            return self._live(self._group(name), now)

    @staticmethod
    def _live(group: _Group, now: float) -> list[str]:
        for gone in [member for member, until in group.members.items() if until < now]:
            del group.members[gone]
        return sorted(group.members)

    def leave(self, name: str, member: str) -> None:
        with self._lock:
            group = self._groups.get(name)
            if group is not None:
                group.members.pop(member, None)

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
        with self._lock:
            group = self._group(name)
            if group.definition.generation != generation:
                return None
            lease = group.leases.get(partition)
            if lease is not None and lease.owner != member and lease.until >= now:
                return None
            group.leases[partition] = _Lease(member, lease_until)
            return group.progress.get(
                partition,
                PartitionProgress(partition=partition, checkpoint=group.definition.start_after),
            )

    def renew(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        partitions: Set[int],
        lease_until: float,
    ) -> set[int]:
        with self._lock:
            group = self._group(name)
            owned = {p for p in partitions if self._owns(group, generation, member, p)}
            for partition in owned:
                group.leases[partition].until = lease_until
            return owned

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
        with self._lock:
            group = self._group(name)
            owned = {
                entry.partition
                for entry in progress
                if self._owns(group, generation, member, entry.partition)
            }
            for entry in progress:
                if entry.partition in owned:
                    group.progress[entry.partition] = entry
            for event in parked:
                if self._owns(group, generation, member, event.partition):
                    group.parked[event.sequence_number] = event
            for number in unparked:
                replayed = group.parked.get(number)
                if replayed is not None and self._owns(
                    group, generation, member, replayed.partition
                ):
                    del group.parked[number]
            return owned

    def release(self, name: str, *, generation: int, member: str, partitions: Set[int]) -> None:
        with self._lock:
            group = self._group(name)
            for partition in partitions:
                if self._owns(group, generation, member, partition):
                    del group.leases[partition]

    def progress(self, name: str) -> list[PartitionProgress]:
        with self._lock:
            group = self._group(name)
            return [group.progress[p] for p in sorted(group.progress)]

    def parked(
        self, name: str, *, after: int = NO_EVENTS, limit: int | None = None
    ) -> list[ParkedEvent]:
        with self._lock:
            group = self._group(name)
            following = (n for n in group.parked if n > after)
            numbers = sorted(following) if limit is None else heapq.nsmallest(limit, following)
            return [group.parked[n] for n in numbers]

    def parked_count(self, name: str) -> int:
        with self._lock:
            return len(self._group(name).parked)

    def replaying(self, name: str, partitions: Set[int]) -> list[ParkedEvent]:
        with self._lock:
            group = self._group(name)
            return [
                group.parked[n]
                for n in sorted(group.parked)
                if group.parked[n].replaying and group.parked[n].partition in partitions
            ]

    def replay(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        with self._lock:
            group = self._group(name)
            chosen = self._chosen(group, sequence_numbers)
            for number in chosen:
                group.parked[number] = dataclasses.replace(group.parked[number], replaying=True)
            return len(chosen)

    def drop(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        with self._lock:
            group = self._group(name)
            chosen = self._chosen(group, sequence_numbers)
            for number in chosen:
                del group.parked[number]
            return len(chosen)

    @staticmethod
    def _chosen(group: _Group, sequence_numbers: Sequence[int] | None) -> list[int]:
        if sequence_numbers is None:
            return list(group.parked)
        return [n for n in set(sequence_numbers) if n in group.parked]
