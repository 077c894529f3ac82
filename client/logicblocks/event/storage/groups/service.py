"""The consumer-group methods of ``RecordStorageAdapter``, over its ``GroupRecords``.

Each method checks its input (naming the field), then makes one or a few calls to the
engine's records. ``GroupInfo.lag`` reads only the events between the lowest partition
checkpoint and the highest (or the highest event done out of turn), where partitions
differ; the events above are counted (``count_records``: a subtraction for the log, a
count in SQL for a category or a stream), so a group far behind costs little while its
partitions' checkpoints are close together, as they are when its consumers keep up with
one another.
"""

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from logicblocks.event.store.adapters.base import validate_scannable
from logicblocks.event.store.exceptions import GroupNotFoundError, InvalidInputError
from logicblocks.event.store.groups import (
    FROM_BEGINNING,
    FROM_END,
    GroupInfo,
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
    parked_page,
    validate_group_name,
    validate_settings,
    validate_start,
)
from logicblocks.event.store.names import require_name
from logicblocks.event.store.start import NO_EVENTS, After

from .consumer import LocalGroupConsumer
from .partitions import partition_of
from .records import GroupDefinition

if TYPE_CHECKING:
    from logicblocks.event.storage.engine import RecordStorageAdapter

__all__ = ["GroupService"]


class GroupService:
    """The group methods of one engine (``RecordStorageAdapter`` delegates to them)."""

    def __init__(self, adapter: "RecordStorageAdapter", clock: Callable[[], float] = time.time):
        self._adapter = adapter
        self._records = adapter.group_records()
        self._clock = clock

    def create_group(
        self, *, name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
    ) -> GroupInfo:
        """See ``StorageAdapter.create_group``."""
        name = validate_group_name(name)
        validate_scannable(target)
        start = validate_start(start)
        settings = validate_settings(settings)
        definition = GroupDefinition(
            name=name,
            target=target,
            start=start,
            start_after=self._start_after(start),
            settings=settings,
        )
        return self._info(self._records.create(definition))

    def update_group(self, *, name: str, settings: GroupSettings) -> GroupInfo:
        """See ``StorageAdapter.update_group``."""
        name = validate_group_name(name)
        settings = validate_settings(settings)
        current = self._records.get(name).settings.partitions
        if settings.partitions != current:
            # Stored progress is per partition: another count would put streams elsewhere.
            raise InvalidInputError(
                "settings.partitions",
                f"cannot change: the group has {current}, fixed when it was created",
            )
        definition = self._records.update(name, settings)
        self._adapter.group_members.changed(name)
        return self._info(definition)

    def get_group(self, *, name: str) -> GroupInfo:
        """See ``StorageAdapter.get_group``."""
        return self._info(self._records.get(validate_group_name(name)))

    def list_groups(self) -> Sequence[GroupInfo]:
        """See ``StorageAdapter.list_groups``."""
        infos = []
        for definition in self._records.all():
            try:
                infos.append(self._info(definition))
            except GroupNotFoundError:
                continue  # deleted while listing
        return infos

    def reset_group(self, *, name: str, start: GroupStart) -> GroupInfo:
        """See ``StorageAdapter.reset_group``."""
        name = validate_group_name(name)
        start = validate_start(start)
        definition = self._records.reset(name, start, self._start_after(start))
        self._adapter.group_members.changed(name)
        return self._info(definition)

    def delete_group(self, *, name: str) -> None:
        """See ``StorageAdapter.delete_group``."""
        name = validate_group_name(name)
        self._records.delete(name)
        self._adapter.group_members.changed(name)

    def consume_group(self, *, name: str, consumer_id: str | None = None) -> LocalGroupConsumer:
        """See ``StorageAdapter.consume_group``."""
        name = validate_group_name(name)
        if consumer_id is None:
            consumer_id = uuid.uuid4().hex
        require_name("consumer_id", consumer_id)
        consumer = LocalGroupConsumer(
            adapter=self._adapter, name=name, consumer_id=consumer_id, clock=self._clock
        )
        self._adapter.group_members.add(name, consumer)
        return consumer

    def parked_events(
        self, *, name: str, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        """See ``StorageAdapter.parked_events``."""
        name = validate_group_name(name)
        after, limit = parked_page(after_sequence_number=after_sequence_number, limit=limit)
        return self._records.parked(name, after=after, limit=limit)

    def replay_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """See ``StorageAdapter.replay_parked``."""
        name = validate_group_name(name)
        replaying = self._records.replay(name, _sequence_numbers(sequence_numbers))
        self._adapter.group_members.changed(name)
        return replaying

    def drop_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """See ``StorageAdapter.drop_parked``."""
        name = validate_group_name(name)
        return self._records.drop(name, _sequence_numbers(sequence_numbers))

    def _start_after(self, start: GroupStart) -> int:
        if start is FROM_BEGINNING:
            return NO_EVENTS
        head = self._adapter.head()
        if start is FROM_END:
            return head
        assert isinstance(start, After)
        if start.sequence_number > head:
            # Starting there would skip, unseen, every event up to it once written.
            raise InvalidInputError(
                "start.sequence_number",
                f"{start.sequence_number} is beyond the head of the store ({head})",
            )
        return start.sequence_number

    def _info(self, definition: GroupDefinition) -> GroupInfo:
        name = definition.name
        return GroupInfo(
            name=name,
            target=definition.target,
            start=definition.start,
            settings=definition.settings,
            lag=self._lag(definition),
            parked=self._records.parked_count(name),
            members=tuple(self._records.members(name, now=self._clock())),
        )

    def _lag(self, definition: GroupDefinition) -> int:
        partitions = definition.settings.partitions
        stored = {entry.partition: entry for entry in self._records.progress(definition.name)}
        checkpoints = [
            stored[p].checkpoint if p in stored else definition.start_after
            for p in range(partitions)
        ]
        done = {p: set(entry.done) for p, entry in stored.items() if entry.done}
        head = self._adapter.head()
        low = min(checkpoints)
        # Above every checkpoint and every event done out of turn, each event of the target
        # is still to do: counted, not read. Below, only the window from the lowest
        # checkpoint is read, to tell apart the partitions that are past an event.
        high = min(head, max([*checkpoints, *(max(numbers) for numbers in done.values())]))
        target = definition.target
        lag = self._adapter.count_records(
            target=target, after_sequence_number=max(high, low), through=head
        )
        if high <= low:
            return lag
        for record in self._adapter.read_records(target=target, after_sequence_number=low):
            number = record.sequence_number
            if number > high:
                break
            partition = partition_of(record.category, record.stream, partitions)
            if number > checkpoints[partition] and number not in done.get(partition, ()):
                lag += 1
        return lag


def _sequence_numbers(numbers: object) -> list[int] | None:
    if numbers is None:
        return None
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Sequence):
        raise InvalidInputError("sequence_numbers", "must be a list of sequence numbers")
    for index, number in enumerate(numbers):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise InvalidInputError(f"sequence_numbers[{index}]", "must be an integer >= 0")
    return list(numbers)
