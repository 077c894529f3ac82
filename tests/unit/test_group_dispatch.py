"""One partition's dispatcher, driven step by step with made-up times (it reads no clock)."""

from datetime import UTC, datetime

from logicblocks.event.storage.groups.dispatch import Handout, PartitionDispatcher
from logicblocks.event.storage.groups.records import PartitionProgress
from logicblocks.event.store.groups import GroupSettings, ParkedEvent
from logicblocks.event.store.records import EventRecord

SETTINGS = GroupSettings(ack_timeout=10.0, max_retries=2, retry_backoff=1.0, retry_backoff_max=3.0)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def record(sequence_number: int, stream: str = "s-1", position: int = 0) -> EventRecord:
    return EventRecord(
        id=f"id-{sequence_number}",
        name="happened",
        stream=stream,
        category="orders",
        position=position,
        sequence_number=sequence_number,
        payload="{}",
        observed_at=WHEN,
        occurred_at=WHEN,
    )


def dispatcher(
    progress: PartitionProgress | None = None,
    settings: GroupSettings = SETTINGS,
    buffer_limit: int = 100,
) -> PartitionDispatcher:
    return PartitionDispatcher(
        progress=progress or PartitionProgress(partition=3, checkpoint=-1),
        settings=settings,
        buffer_limit=buffer_limit,
    )


def fed(*records: EventRecord, **options: object) -> PartitionDispatcher:
    made = dispatcher(**options)  # type: ignore[arg-type]
    for each in records:
        assert made.offer(each)
    return made


def take(d: PartitionDispatcher, now: float = 0.0) -> Handout:
    handout = d.hand_out(now)
    assert handout is not None
    return handout


def numbers(d: PartitionDispatcher, now: float = 0.0) -> list[int]:
    out = []
    while (handout := d.hand_out(now)) is not None:
        out.append(handout.record.sequence_number)
    return out


def test_one_delivery_per_stream_at_a_time_and_streams_in_parallel() -> None:
    d = fed(record(0, "a", 0), record(1, "b", 0), record(2, "a", 1), record(3, "b", 1))
    first = take(d)
    second = take(d)
    assert (first.record.sequence_number, second.record.sequence_number) == (0, 1)
    assert d.hand_out(0.0) is None
    assert d.in_flight == 2
    assert d.ack(second)
    assert numbers(d) == [3]
    assert d.ack(first)
    assert numbers(d) == [2]


def test_the_checkpoint_covers_only_a_done_prefix_and_done_is_kept_above_it() -> None:
    d = fed(record(0, "a"), record(4, "b"), record(7, "c"))
    a, b, c = take(d), take(d), take(d)
    d.ack(b)
    d.ack(c)
    assert d.progress() == PartitionProgress(partition=3, checkpoint=-1, done=(4, 7))
    d.ack(a)
    assert d.progress() == PartitionProgress(partition=3, checkpoint=7)


def test_a_caught_up_partition_moves_its_checkpoint_to_where_reading_reached() -> None:
    d = fed(record(2))
    d.advance(10)
    assert d.checkpoint == 1
    d.ack(take(d))
    assert (d.checkpoint, d.cursor) == (10, 10)
    d.advance(15)
    assert d.checkpoint == 15


def test_a_nack_retries_after_the_backoff_then_parks_and_the_stream_moves_on() -> None:
    d2 = fed(record(0, "a", 0), record(1, "a", 1))
    first = take(d2, 0.0)
    assert first.attempt == 1
    assert d2.fail(first, "boom", 0.0)
    assert d2.hand_out(0.5) is None  # backoff 1s, and the stream's next event waits too
    assert d2.next_wake() == 1.0
    second = take(d2, 1.0)
    assert (second.record.sequence_number, second.attempt) == (0, 2)
    assert d2.fail(second, "boom", 1.0)
    assert d2.hand_out(2.5) is None  # backoff doubled: 2s
    third = take(d2, 3.0)
    assert third.attempt == 3
    assert d2.fail(third, "still boom", 3.0)
    changes = d2.take_changes()
    assert changes is not None
    [parked] = changes.parked
    assert (parked.sequence_number, parked.reason, parked.attempts) == (0, "still boom", 3)
    assert (parked.partition, parked.stream, parked.position, parked.event_id) == (
        3,
        "a",
        0,
        "id-0",
    )
    assert changes.progress == PartitionProgress(partition=3, checkpoint=0)
    nxt = take(d2, 3.0)
    assert (nxt.record.sequence_number, nxt.attempt) == (1, 1)


def test_failed_attempts_are_saved_so_a_new_owner_counts_on() -> None:
    d = fed(record(5))
    d.fail(take(d), "boom", 0.0)
    changes = d.take_changes()
    assert changes is not None
    assert changes.progress.attempts == ((5, 1),)
    resumed = fed(record(5), progress=changes.progress)
    assert take(resumed).attempt == 2


def test_an_unsettled_delivery_times_out_and_counts_as_a_failure() -> None:
    d = fed(record(0), settings=GroupSettings(ack_timeout=2.0, max_retries=0))
    handout = take(d, 1.0)
    assert handout.deadline == 3.0
    assert d.expire(2.9) == 0
    assert d.expire(3.0) == 1
    changes = d.take_changes()
    assert changes is not None
    assert "ack timeout" in changes.parked[0].reason
    assert d.in_flight == 0


def test_settling_twice_or_settling_a_replaced_delivery_changes_nothing() -> None:
    d = fed(record(0), record(1, "b"), settings=GroupSettings(retry_backoff=0.0))
    first = take(d)
    d.fail(first, "boom", 0.0)
    again = take(d)
    assert again.record.sequence_number == 0 and again.attempt == 2
    assert not d.ack(first)
    assert not d.fail(first, "late", 0.0)
    assert d.ack(again)
    assert not d.ack(again)
    assert d.checkpoint == 0


def test_an_ack_after_the_deadline_still_counts_while_the_retry_waits() -> None:
    d = fed(record(0), record(1), settings=GroupSettings(ack_timeout=1.0, retry_backoff=5.0))
    handout = take(d, 0.0)
    d.expire(1.0)
    assert d.ack(handout)
    assert d.checkpoint == 0
    assert take(d, 1.0).record.sequence_number == 1


def test_a_full_buffer_refuses_and_the_reader_resumes_from_the_cursor() -> None:
    d = dispatcher(buffer_limit=2)
    assert d.offer(record(0, "a")) and d.offer(record(1, "b"))
    assert not d.has_room
    assert not d.offer(record(2, "c"))
    assert d.cursor == 1
    d.ack(take(d))
    assert d.has_room and d.offer(record(2, "c"))
    assert d.offer(record(1, "b"))  # read again: passed over, not buffered twice
    assert d.buffered == 2


def test_a_new_owner_skips_events_done_above_the_checkpoint() -> None:
    progress = PartitionProgress(partition=3, checkpoint=1, done=(3, 4))
    d = fed(record(0), record(2, "a"), record(3), record(4), record(6, "b"), progress=progress)
    assert numbers(d) == [2, 6]
    assert d.checkpoint == 1


def test_done_entries_at_the_front_are_folded_into_the_checkpoint() -> None:
    progress = PartitionProgress(partition=3, checkpoint=1, done=(3, 4))
    d = fed(record(3), record(4), progress=progress)
    assert d.progress() == PartitionProgress(partition=3, checkpoint=4)


def test_a_replay_is_delivered_once_more_beside_the_streams() -> None:
    d = fed(record(9, "a"))
    parked = _parked(d, record(2, "a"))
    assert d.add_replay(parked, record(2, "a"))
    assert not d.add_replay(parked, record(2, "a"))
    replay = take(d)
    assert (replay.record.sequence_number, replay.attempt, replay.replay) == (2, 4, True)
    assert take(d).record.sequence_number == 9  # the stream is not held back by it
    assert d.ack(replay)
    changes = d.take_changes()
    assert changes is not None and changes.unparked == (2,)


def test_a_failed_replay_is_parked_again_and_not_replaying() -> None:
    d = dispatcher()
    parked = _parked(d, record(2, "a"))
    d.add_replay(parked, record(2, "a"))
    replay = take(d, 7.0)
    assert d.fail(replay, "again", 7.0)
    assert not d.add_replay(parked, record(2, "a"))  # its parking is not saved yet
    changes = d.take_changes()
    assert changes is not None
    [again] = changes.parked
    assert (again.reason, again.attempts, again.replaying) == ("again", 4, False)
    assert again.parked_at == datetime.fromtimestamp(7.0, UTC)


def test_nothing_to_save_until_something_changes() -> None:
    d = fed(record(0))
    assert d.take_changes() is None
    d.ack(take(d))
    assert d.take_changes() is not None
    assert d.take_changes() is None


def test_the_last_deadline_bounds_what_is_out() -> None:
    d = fed(record(0, "a"), record(1, "b"))
    assert d.last_deadline() is None
    take(d, 1.0)
    take(d, 2.0)
    assert d.last_deadline() == 12.0


def _parked(d: PartitionDispatcher, event: EventRecord) -> ParkedEvent:
    return ParkedEvent(
        sequence_number=event.sequence_number,
        event_id=event.id,
        category=event.category,
        stream=event.stream,
        position=event.position,
        partition=d.partition,
        reason="boom",
        attempts=3,
        parked_at=WHEN,
        replaying=True,
    )


def test_a_settled_delivery_no_longer_wakes_anyone_at_its_deadline() -> None:
    d = fed(record(0, "a"), record(1, "b"))
    first = take(d, 1.0)
    take(d, 2.0)
    assert d.next_wake() == 11.0
    d.ack(first)
    assert d.next_wake() == 12.0


def test_a_replay_not_settled_in_time_is_parked_again() -> None:
    d = dispatcher()
    parked = _parked(d, record(2, "a"))
    d.add_replay(parked, record(2, "a"))
    replay = take(d, 1.0)
    assert d.expire(11.0) == 1
    assert not d.ack(replay)
    changes = d.take_changes()
    assert changes is not None and "ack timeout" in changes.parked[0].reason
    assert d.in_flight == 0 and d.wants_replay(2)


def test_a_delivery_given_back_goes_out_again_as_if_never_delivered() -> None:
    d = fed(record(0, "a"), record(1, "a"))
    first = take(d)
    assert d.give_back(first)
    assert (d.in_flight, d.next_wake(), d.next_ready(0.0)) == (0, None, 0)
    again = take(d)
    assert (again.record.sequence_number, again.attempt) == (0, 1)
    assert not d.give_back(first)  # an older delivery of it
    assert d.ack(again)
    assert not d.give_back(again)  # settled
    assert take(d).record.sequence_number == 1
    assert d.progress() == PartitionProgress(partition=3, checkpoint=0)


def test_a_replay_given_back_is_replayed_again_with_its_attempts() -> None:
    d = dispatcher()
    parked = _parked(d, record(2, "a"))
    d.add_replay(parked, record(2, "a"))
    replay = take(d)
    assert d.give_back(replay)
    assert d.in_flight == 0
    again = take(d)
    assert (again.record.sequence_number, again.attempt, again.replay) == (2, 4, True)
    assert d.take_changes() is None  # nothing to save: it was never started
