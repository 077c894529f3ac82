"""What one owner of one partition hands out, and the progress that follows: I/O-free.

A ``PartitionDispatcher`` is the state of a partition while a member owns it. The consumer
feeds it the partition's events in sequence order (``offer``), asks it for deliveries
(``hand_out``), tells it how they were settled (``ack``, ``fail``, ``expire``) and saves
what it reports (``take_changes``). It never reads a clock or storage: every time is
passed in, so tests drive it step by step.

Its rules, from the group's design:

- At most one delivery of a stream is out at a time, in position order: a stream's next
  event waits until the previous one is acknowledged or parked. A failed event (nacked or
  not settled within ``ack_timeout``) is delivered again after ``settings.backoff``, still
  blocking its stream, until it failed ``max_retries + 1`` times; then it is parked, which
  counts as done, and the stream moves on.
- The buffer is bounded: ``offer`` refuses events once ``buffer_limit`` are outstanding
  (the reader stops there and reads again later from ``cursor``).
- Progress: ``checkpoint`` (every event of the partition up to it is done), ``done``
  above it, and ``attempts`` of failed events not yet done, so a new owner goes on where
  this one stopped and counts retries on.
- Replays of parked events are delivered once more each, beside the streams
  (``replays.py``).
"""

import heapq
from bisect import bisect_right
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import NamedTuple

from logicblocks.event.store.groups import GroupSettings, ParkedEvent
from logicblocks.event.store.records import EventRecord

from .records import PartitionProgress
from .replays import Replays

__all__ = ["Changes", "Handout", "PartitionDispatcher"]

_READY = 0
_IN_FLIGHT = 1
_WAITING = 2

# The events above the checkpoint a dispatcher keeps track of (outstanding and done), as a
# multiple of its buffer: the done ones are saved with every progress, so one stream held
# back by a failing event (for up to max_retries backoffs) must not let them grow unbounded.
_WINDOW_FACTOR = 8

_StreamKey = tuple[str, str]

_number = attrgetter("sequence_number")


class Handout(NamedTuple):
    """One delivery a dispatcher decided on (a named tuple: one is made per delivery, and
    a tuple is made at a fraction of a frozen dataclass's cost).

    Attributes:
        token: identifies this delivery: settling it with an older token changes nothing.
        record: the event.
        attempt: which delivery of the event this is (1 for the first).
        deadline: when it counts as failed unless settled.
        replay: whether it replays a parked event.
    """

    token: int
    record: EventRecord
    attempt: int
    deadline: float
    replay: bool = False


@dataclass(frozen=True, slots=True)
class Changes:
    """What a dispatcher has to save since it was last asked: its progress, events to
    park, and replayed parked events to unpark (``GroupRecords.save``)."""

    progress: PartitionProgress
    parked: tuple[ParkedEvent, ...]
    unparked: tuple[int, ...]


@dataclass(slots=True)
class _Stream:
    # The buffered events of one stream (``key``); the head (queue[0]) is the one
    # delivered next, in flight, or waiting for its retry.
    key: _StreamKey
    queue: deque[EventRecord]
    state: int = _READY
    token: int = 0


class PartitionDispatcher:
    """One partition's deliveries and progress while a member owns it.

    Not thread-safe: the consumer calls it under its own lock.
    """

    def __init__(
        self,
        *,
        progress: PartitionProgress,
        settings: GroupSettings,
        buffer_limit: int,
    ):
        self.partition = progress.partition
        self.settings = settings
        self.buffer_limit = buffer_limit
        self.checkpoint = progress.checkpoint
        # Every event of the partition up to the cursor was offered (or is done).
        self.cursor = progress.checkpoint
        self._done = set(progress.done)
        self._attempts = dict(progress.attempts)
        # Sequence numbers offered above the checkpoint, ascending: its front decides it.
        self._order: deque[int] = deque()
        self._streams: dict[_StreamKey, _Stream] = {}
        self._ready: list[tuple[int, _StreamKey]] = []
        self._waiting: list[tuple[float, int, int, _StreamKey]] = []
        # Deliveries out by token: (deadline, sequence number, stream; None for a replay).
        # In the order handed out, which is deadline order while ack_timeout stays the same
        # (after a change, a later deadline may wait behind an earlier one: no sooner than
        # the old timeout would have made it); settled ones leave at once.
        self._deadlines: OrderedDict[int, tuple[float, int, _StreamKey | None]] = OrderedDict()
        self._replays = Replays()
        self._parked: list[ParkedEvent] = []
        self._buffered = 0
        self._in_flight = 0
        self._tokens = 0
        self._dirty = False

    @property
    def in_flight(self) -> int:
        """How many of its deliveries are out, unsettled and within their deadline."""
        return self._in_flight

    @property
    def buffered(self) -> int:
        """How many offered events are not yet done."""
        return self._buffered

    @property
    def has_room(self) -> bool:
        """Whether ``offer`` would take another event."""
        return (
            self._buffered < self.buffer_limit
            and len(self._order) < _WINDOW_FACTOR * self.buffer_limit
        )

    @property
    def wants_events(self) -> bool:
        """Whether reading for it is worth a page: at most half its buffer is taken (a
        reader that topped up each partition as soon as one event left would read a page
        per event)."""
        return (
            2 * self._buffered <= self.buffer_limit
            and 2 * len(self._order) < _WINDOW_FACTOR * self.buffer_limit
        )

    @property
    def dirty(self) -> bool:
        """Whether there is progress, parking or unparking not yet taken to be saved."""
        return self._dirty

    def offer(self, record: EventRecord) -> bool:
        """Take the partition's next event read; ``False`` (and nothing changes) when the
        buffer is full. Events up to ``cursor`` and events already done are passed over."""
        number = record.sequence_number
        if number <= self.cursor:
            return True
        if number in self._done:
            # Done by an earlier owner: it only has to pass the checkpoint.
            self._order.append(number)
            self.cursor = number
            self._advance_checkpoint()
            return True
        limit = self.buffer_limit
        if self._buffered >= limit or len(self._order) >= _WINDOW_FACTOR * limit:
            return False  # not has_room, written out: this runs for every event read
        key = (record.category, record.stream)
        stream = self._streams.get(key)
        if stream is None:
            self._streams[key] = _Stream(key, deque((record,)))
            heapq.heappush(self._ready, (number, key))
        else:
            stream.queue.append(record)
        self._order.append(number)
        self._buffered += 1
        self.cursor = number
        return True

    def offer_all(self, records: Sequence[EventRecord]) -> bool:
        """``offer`` each of the partition's ``records`` (in sequence order) after the
        cursor, until one is refused; whether none was."""
        offer = self.offer
        for index in range(bisect_right(records, self.cursor, key=_number), len(records)):
            if not offer(records[index]):
                return False
        return True

    def advance(self, sequence_number: int) -> None:
        """Every event of the partition up to ``sequence_number`` has been offered (a read
        reached it without a refusal)."""
        if sequence_number > self.cursor:
            self.cursor = sequence_number
            self._advance_checkpoint()

    def add_replay(self, parked: ParkedEvent, record: EventRecord) -> bool:
        """Deliver the parked event once more; ``False`` when it is already being replayed
        or its last replay is not saved yet."""
        return self._replays.add(parked, record)

    def wants_replay(self, sequence_number: int) -> bool:
        """Whether ``add_replay`` would take the parked event: it is neither being replayed
        nor settled with its outcome still to be saved."""
        return self._replays.wants(sequence_number)

    def next_ready(self, now: float) -> int | None:
        """The sequence number ``hand_out(now)`` would deliver, ``None`` when nothing is
        ready (consumers take from the partition whose next is lowest)."""
        if self._waiting and self._waiting[0][0] <= now:
            self._promote(now)
        return self.peek()

    def peek(self) -> int | None:
        """``next_ready`` as of the last time given to this dispatcher (retries that came
        due since are not looked at)."""
        replay = self._replays.next_ready()
        if replay is not None:
            return replay
        return self._ready[0][0] if self._ready else None

    def hand_out(self, now: float) -> Handout | None:
        """Deliver the next ready event (a replay first), due back by ``now + ack_timeout``."""
        if self._waiting and self._waiting[0][0] <= now:
            self._promote(now)
        self._tokens = token = self._tokens + 1
        deadline = now + self.settings.ack_timeout
        if self._replays.next_ready() is not None:
            record, attempt = self._replays.hand_out(token)
            self._in_flight += 1
            self._deadlines[token] = (deadline, record.sequence_number, None)
            return Handout(token, record, attempt, deadline, True)
        if not self._ready:
            return None
        number, key = heapq.heappop(self._ready)
        stream = self._streams[key]
        stream.state, stream.token = _IN_FLIGHT, token
        self._in_flight += 1
        self._deadlines[token] = (deadline, number, key)
        attempt = self._attempts.get(number, 0) + 1
        return Handout(token, stream.queue[0], attempt, deadline)

    def ack(self, handout: Handout) -> bool:
        """The delivery succeeded; ``False`` when it was settled already or replaced.

        An ack that comes after the deadline still counts while the event waits for its
        retry: it is done, so delivering it again would only repeat the work.
        """
        record = handout.record
        if handout.replay:
            if not self._replays.ack(record.sequence_number, handout.token):
                return False
            self._end_replay(handout.token)
            return True
        stream = self._head(handout)
        if stream is None:
            return False
        self._finish_head(stream, record)
        return True

    def fail(self, handout: Handout, reason: str, now: float) -> bool:
        """The delivery failed (a nack with ``reason``); ``False`` when it was settled
        already or replaced. Retried after the backoff, or parked once retries are spent."""
        if handout.replay:
            if not self._replays.fail(handout.record.sequence_number, handout.token, reason, now):
                return False
            self._end_replay(handout.token)
            return True
        stream = self._head(handout)
        if stream is None or stream.state != _IN_FLIGHT:
            return False
        self._fail_head(stream, handout.record, reason, now)
        return True

    def give_back(self, handout: Handout) -> bool:
        """The delivery was never started (its consumer gave it back unread): its event is
        ready again at once, with no attempt counted; ``False`` when it was settled
        already or replaced."""
        record = handout.record
        if handout.replay:
            if not self._replays.give_back(record.sequence_number, handout.token):
                return False
        else:
            stream = self._head(handout)
            if stream is None or stream.state != _IN_FLIGHT:
                return False
            stream.state = _READY
            heapq.heappush(self._ready, (record.sequence_number, stream.key))
        self._in_flight -= 1
        self._deadlines.pop(handout.token, None)
        return True

    def expire(self, now: float) -> int:
        """Fail every delivery whose deadline passed by ``now``; returns how many."""
        expired = 0
        deadlines = self._deadlines
        while deadlines:
            token, (deadline, number, key) = next(iter(deadlines.items()))
            if deadline > now:
                break
            del deadlines[token]
            reason = f"not acknowledged within the ack timeout ({self.settings.ack_timeout}s)"
            if key is None:
                if self._replays.fail(number, token, reason, now):
                    self._end_replay(token)
                    expired += 1
                continue
            stream = self._streams.get(key)
            if stream is not None and stream.state == _IN_FLIGHT and stream.token == token:
                self._fail_head(stream, stream.queue[0], reason, now)
                expired += 1
        return expired

    def next_wake(self) -> float | None:
        """The earliest time something here changes by itself (a deadline passes or a retry
        comes due), ``None`` when nothing will; possibly early (a retry settled late)."""
        retry = self._waiting[0][0] if self._waiting else None
        if not self._deadlines:
            return retry
        deadline = next(iter(self._deadlines.values()))[0]
        return deadline if retry is None or deadline < retry else retry

    def last_deadline(self) -> float | None:
        """The latest deadline of the deliveries out, ``None`` when none is out."""
        return max((deadline for deadline, _, _ in self._deadlines.values()), default=None)

    def progress(self) -> PartitionProgress:
        """The partition's progress as it stands."""
        return PartitionProgress(
            partition=self.partition,
            checkpoint=self.checkpoint,
            done=tuple(sorted(self._done)),
            attempts=tuple(sorted(self._attempts.items())),
        )

    def take_changes(self) -> Changes | None:
        """What to save since the last call (``None`` when nothing changed)."""
        if not self._dirty:
            return None
        replays = self._replays
        parked = tuple(self._parked + replays.parked)
        changes = Changes(self.progress(), parked, tuple(replays.unparked))
        self._parked.clear()
        replays.parked.clear()
        replays.unparked.clear()
        self._dirty = False
        return changes

    def put_back(self, changes: Changes) -> None:
        """``changes`` were taken but could not be saved: take them again with the next.

        Their parkings go back beside the replays' own, which keeps a replayed event that
        was parked again from being replayed before that is saved."""
        self._replays.parked[:0] = changes.parked
        self._replays.unparked[:0] = changes.unparked
        self._dirty = True

    def _head(self, handout: Handout) -> _Stream | None:
        record = handout.record
        stream = self._streams.get((record.category, record.stream))
        if (
            stream is None
            or stream.token != handout.token
            or stream.state == _READY
            or stream.queue[0].sequence_number != record.sequence_number
        ):
            return None
        return stream

    def _finish_head(self, stream: _Stream, record: EventRecord) -> None:
        if stream.state == _IN_FLIGHT:
            self._in_flight -= 1
            self._deadlines.pop(stream.token, None)
        number = record.sequence_number
        queue = stream.queue
        queue.popleft()
        self._buffered -= 1
        self._done.add(number)
        if self._attempts:
            self._attempts.pop(number, None)
        if queue:
            stream.state = _READY
            heapq.heappush(self._ready, (queue[0].sequence_number, stream.key))
        else:
            del self._streams[stream.key]
        self._dirty = True
        self._advance_checkpoint()

    def _fail_head(self, stream: _Stream, record: EventRecord, reason: str, now: float) -> None:
        number = record.sequence_number
        failures = self._attempts.get(number, 0) + 1
        self._attempts[number] = failures
        self._dirty = True
        if failures > self.settings.max_retries:
            self._parked.append(self._parked_event(record, reason, failures, now))
            self._finish_head(stream, record)
            return
        self._in_flight -= 1
        self._deadlines.pop(stream.token, None)
        stream.state = _WAITING
        due = now + self.settings.backoff(failures)
        heapq.heappush(self._waiting, (due, number, stream.token, stream.key))

    def _end_replay(self, token: int) -> None:
        self._in_flight -= 1
        self._deadlines.pop(token, None)
        self._dirty = True

    def _parked_event(
        self, record: EventRecord, reason: str, attempts: int, now: float
    ) -> ParkedEvent:
        return ParkedEvent(
            sequence_number=record.sequence_number,
            event_id=record.id,
            category=record.category,
            stream=record.stream,
            position=record.position,
            partition=self.partition,
            reason=reason,
            attempts=attempts,
            parked_at=datetime.fromtimestamp(now, UTC),
        )

    def _promote(self, now: float) -> None:
        # Retries that came due join the ready streams; entries of streams settled since
        # (a late ack) are stale and dropped.
        while self._waiting and self._waiting[0][0] <= now:
            _, number, token, key = heapq.heappop(self._waiting)
            stream = self._streams.get(key)
            if stream is not None and stream.state == _WAITING and stream.token == token:
                stream.state = _READY
                heapq.heappush(self._ready, (number, key))

    def _advance_checkpoint(self) -> None:
        order, done = self._order, self._done
        while order and order[0] in done:
            done.discard(order.popleft())
        checkpoint = order[0] - 1 if order else self.cursor
        if checkpoint != self.checkpoint:
            self.checkpoint = checkpoint
            self._dirty = True
