"""Parked events an operator asked to replay, delivered once more each: I/O-free.

A replay is an old event whose stream moved on when it was parked, so it does not hold its
stream back, and its stream does not hold it back. Acknowledged, it is unparked (its row
deleted); failed (nacked or not settled in time), it is parked again with one more attempt
and no longer replaying. Part of a ``PartitionDispatcher``, which hands replays out before
its streams' events and keeps their deadlines with its own.
"""

import dataclasses
import heapq
from dataclasses import dataclass
from datetime import UTC, datetime

from logicblocks.event.store.groups import ParkedEvent
from logicblocks.event.store.records import EventRecord

__all__ = ["Replays"]


@dataclass(slots=True)
class _Replay:
    parked: ParkedEvent
    record: EventRecord
    # The token of its delivery while one is out, else None.
    token: int | None = None


class Replays:
    """One partition's replays: waiting, out, and settled but not yet saved.

    Attributes:
        parked: replays that failed, to park again (``GroupRecords.save(parked=...)``).
        unparked: sequence numbers of replays acknowledged, to unpark.
    """

    def __init__(self) -> None:
        self._replays: dict[int, _Replay] = {}
        self._ready: list[int] = []
        self.parked: list[ParkedEvent] = []
        self.unparked: list[int] = []

    def wants(self, sequence_number: int) -> bool:
        """Whether ``add`` would take the parked event: it is neither being replayed nor
        settled with its outcome still to be saved (storage still says it is replaying)."""
        return not (
            sequence_number in self._replays
            or sequence_number in self.unparked
            or any(event.sequence_number == sequence_number for event in self.parked)
        )

    def add(self, parked: ParkedEvent, record: EventRecord) -> bool:
        """Deliver ``parked`` (whose event is ``record``) once more; ``False`` when not
        ``wants``."""
        number = parked.sequence_number
        if not self.wants(number):
            return False
        self._replays[number] = _Replay(parked, record)
        heapq.heappush(self._ready, number)
        return True

    def next_ready(self) -> int | None:
        """The sequence number of the next replay to hand out, ``None`` when none waits."""
        return self._ready[0] if self._ready else None

    def hand_out(self, token: int) -> tuple[EventRecord, int]:
        """Hand out the next replay (there is one: see ``next_ready``) as delivery
        ``token``; returns its event and attempt number."""
        replay = self._replays[heapq.heappop(self._ready)]
        replay.token = token
        return replay.record, replay.parked.attempts + 1

    def ack(self, sequence_number: int, token: int) -> bool:
        """Delivery ``token`` of the replay succeeded: unpark it. ``False`` when that
        delivery is not out (settled already)."""
        if self._take(sequence_number, token) is None:
            return False
        self.unparked.append(sequence_number)
        return True

    def fail(self, sequence_number: int, token: int, reason: str, now: float) -> bool:
        """Delivery ``token`` of the replay failed: park it again. ``False`` when that
        delivery is not out (settled already)."""
        replay = self._take(sequence_number, token)
        if replay is None:
            return False
        self.parked.append(
            dataclasses.replace(
                replay.parked,
                reason=reason,
                attempts=replay.parked.attempts + 1,
                parked_at=datetime.fromtimestamp(now, UTC),
                replaying=False,
            )
        )
        return True

    def give_back(self, sequence_number: int, token: int) -> bool:
        """Delivery ``token`` of the replay was never started: it waits to be handed out
        again, its attempts as they were. ``False`` when that delivery is not out."""
        replay = self._replays.get(sequence_number)
        if replay is None or replay.token != token:
            return False
        replay.token = None
        heapq.heappush(self._ready, sequence_number)
        return True

    def _take(self, sequence_number: int, token: int) -> _Replay | None:
        replay = self._replays.get(sequence_number)
        if replay is None or replay.token != token:
            return None
        del self._replays[sequence_number]
        return replay
