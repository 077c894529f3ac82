"""What adapters that keep consumer groups promise, through the documented API.

Groups are reached as users reach them (``store.category(...).consumer_group(name)``).
Settings are small (no backoff, short member timeouts) so each test takes a fraction of a
second; nothing sleeps: waits are for something to happen, with a deadline.
"""

import dataclasses
import gc
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial

import pytest

from logicblocks.event.store import (
    Delivery,
    EventStore,
    GroupConsumer,
    GroupExistsError,
    GroupNotFoundError,
    InvalidInputError,
)
from logicblocks.event.store.groups import FROM_END, After, GroupSettings
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import StoredEvent
from logicblocks.event.types.query import Query, QueryItem

from .fixtures import AdapterFixtures
from .sample_events import new_events

# Quick to notice joins, resets and replays (a member beats every 0.2 s); an ack timeout
# long enough that no delivery times out unless a test means it to.
FAST = GroupSettings(
    ack_timeout=5.0,
    max_retries=2,
    retry_backoff=0.0,
    retry_backoff_max=0.0,
    member_timeout=0.6,
    partitions=8,
)
# One delivery out at a time: a consumer then sees the lowest ready event each time, so a
# lone consumer sees the whole target in sequence order. A client that fetches ahead (over
# gRPC) gives back what it has not handed out when it leaves; the one its application
# took and left unsettled keeps its stream until the ack timeout: a short one keeps a
# rejoin quick.
ONE_AT_A_TIME = dataclasses.replace(FAST, max_in_flight=1, ack_timeout=1.0)
WAIT = 10.0


def take(consumer: GroupConsumer, count: int, timeout: float = WAIT) -> list[Delivery]:
    """The next ``count`` deliveries; fewer if ``timeout`` passes first (a timer closes the
    consumer then, so a missing delivery fails the test instead of hanging it)."""
    watchdog = threading.Timer(timeout, consumer.close)
    watchdog.start()
    try:
        taken: list[Delivery] = []
        for delivery in consumer:
            taken.append(delivery)
            if len(taken) == count:
                break
        return taken
    finally:
        watchdog.cancel()


def numbers(deliveries: list[Delivery]) -> list[int]:
    return [delivery.event.sequence_number for delivery in deliveries]


def take_acking(consumer: GroupConsumer, count: int) -> list[int]:
    """Take ``count`` deliveries one by one, acknowledging each; their sequence numbers."""
    taken = []
    for _ in range(count):
        [delivery] = take(consumer, 1)
        delivery.ack()
        taken.append(delivery.event.sequence_number)
    return taken


def publish(store: EventStore, stream: str, count: int) -> list[StoredEvent]:
    return list(store.stream(category="orders", stream=stream).publish(events=new_events(count)))


class ConsumerGroupContract(AdapterFixtures):
    """Consumer groups, for adapters that keep them. Mixed into an adapter's contract class."""

    def test_create_is_idempotent_and_refuses_another_target_or_start(
        self, store: EventStore
    ) -> None:
        group = store.category(category="orders").consumer_group("billing")
        created = group.create(settings=FAST)
        assert (created.name, created.settings, created.lag, created.parked) == (
            "billing",
            FAST,
            0,
            0,
        )
        assert group.create(settings=FAST) == created
        with pytest.raises(GroupExistsError):
            group.create(start=FROM_END, settings=FAST)
        with pytest.raises(GroupExistsError):
            store.log().consumer_group("billing").create(settings=FAST)
        assert [info.name for info in store.consumer_groups()] == ["billing"]

    def test_a_missing_group_is_named_in_the_error(self, store: EventStore) -> None:
        group = store.consumer_group("missing")
        for call in (
            group.info,
            group.consume,
            group.delete,
            group.parked,
            group.replay,
            group.drop,
            lambda: group.update(settings=FAST),
            lambda: group.reset(start=FROM_END),
        ):
            with pytest.raises(GroupNotFoundError) as raised:
                call()
            assert raised.value.name == "missing"

    def test_bad_input_names_its_field(self, store: EventStore) -> None:
        publish(store, "o-1", 2)
        log = store.log()
        group = log.consumer_group("g")
        cases: list[tuple[str, Callable[[], object]]] = [
            ("settings.max_retries", lambda: group.create(settings=GroupSettings(max_retries=-1))),
            ("start.sequence_number", lambda: group.create(start=After(5))),
            ("name", lambda: log.consumer_group("").create()),
        ]
        for field, call in cases:
            with pytest.raises(InvalidInputError) as raised:
                call()
            assert raised.value.field == field
        group.create(settings=FAST)
        with pytest.raises(InvalidInputError) as raised:
            group.update(settings=GroupSettings(partitions=FAST.partitions + 1))
        assert raised.value.field == "settings.partitions"
        updated = group.update(settings=GroupSettings(partitions=FAST.partitions, max_retries=7))
        assert updated.settings.max_retries == 7

    def test_one_consumer_receives_every_event_in_sequence_order(self, store: EventStore) -> None:
        history = [event for n in range(3) for event in publish(store, f"o-{n % 2}", 2)]
        group = store.category(category="orders").consumer_group("billing")
        group.create(settings=ONE_AT_A_TIME)
        with group.consume() as consumer:
            assert take_acking(consumer, 6) == [event.sequence_number for event in history]
            live = publish(store, "o-2", 1) + publish(store, "o-0", 2)
            assert take_acking(consumer, 3) == [event.sequence_number for event in live]

    def test_acknowledged_events_are_never_delivered_again(self, store: EventStore) -> None:
        events = publish(store, "o-1", 3) + publish(store, "o-2", 3)
        group = store.log().consumer_group("billing")
        group.create(settings=ONE_AT_A_TIME)
        with group.consume(consumer_id="first") as consumer:
            assert take_acking(consumer, 3) == [event.sequence_number for event in events[:3]]
        with group.consume(consumer_id="second") as consumer:
            assert take_acking(consumer, 3) == [event.sequence_number for event in events[3:]]

    def test_a_failing_event_is_retried_then_parked_and_its_stream_moves_on(
        self, store: EventStore
    ) -> None:
        failing, following = publish(store, "o-1", 2)
        group = store.log().consumer_group("billing")
        group.create(settings=FAST)
        with group.consume() as consumer:
            for attempt in (1, 2, 3):
                [delivery] = take(consumer, 1)
                assert (delivery.event, delivery.attempt) == (failing, attempt)
                delivery.nack(reason=f"failure {attempt}")
            [delivery] = take(consumer, 1)
            assert (delivery.event, delivery.attempt) == (following, 1)
            delivery.ack()
            assert wait_until(lambda: len(group.parked()) == 1, WAIT)
            [parked] = group.parked()
            assert (parked.sequence_number, parked.event_id, parked.stream) == (
                failing.sequence_number,
                failing.id,
                "o-1",
            )
            assert (parked.reason, parked.attempts) == ("failure 3", 3)
            assert group.info().parked == 1

            assert group.replay() == 1
            [replayed] = take(consumer, 1)
            assert replayed.event == failing
            replayed.ack()
            assert wait_until(lambda: group.parked() == [], WAIT)
            assert group.info().lag == 0

    def test_a_parked_event_can_be_dropped(self, store: EventStore) -> None:
        [failing] = publish(store, "o-1", 1)
        group = store.log().consumer_group("billing")
        group.create(settings=FAST)
        with group.consume() as consumer:
            for _ in range(FAST.max_retries + 1):
                [delivery] = take(consumer, 1)
                delivery.nack(reason="no")
            assert wait_until(lambda: len(group.parked()) == 1, WAIT)
        assert group.drop(sequence_numbers=[failing.sequence_number + 1]) == 0
        assert group.drop(sequence_numbers=[failing.sequence_number]) == 1
        assert group.parked() == []
        assert group.info().lag == 0

    def test_parked_events_are_listed_a_page_at_a_time(self, store: EventStore) -> None:
        events = [event for n in range(3) for event in publish(store, f"o-{n}", 1)]
        group = store.log().consumer_group("billing")
        group.create(settings=dataclasses.replace(FAST, max_retries=0))
        with group.consume() as consumer:
            for delivery in take(consumer, 3):
                delivery.nack(reason="no")
            assert wait_until(lambda: group.info().parked == 3, WAIT)
        first, second, third = (event.sequence_number for event in events)
        listed = [parked.sequence_number for parked in group.parked()]
        assert listed == [first, second, third]
        assert [p.sequence_number for p in group.parked(limit=2)] == [first, second]
        assert [p.sequence_number for p in group.parked(after_sequence_number=first)] == [
            second,
            third,
        ]
        assert group.parked(after_sequence_number=third, limit=10) == []
        for arguments, field in (
            ({"limit": 0}, "limit"),
            ({"after_sequence_number": -2}, "after_sequence_number"),
        ):
            with pytest.raises(InvalidInputError) as raised:
                group.parked(**arguments)
            assert raised.value.field == field

    def test_groups_start_where_they_say(self, store: EventStore) -> None:
        publish(store, "o-1", 3)
        from_end = store.log().consumer_group("from-end")
        from_end.create(start=FROM_END, settings=FAST)
        after = store.log().consumer_group("after")
        after.create(start=After(1), settings=FAST)
        assert after.info().lag == 1
        later = publish(store, "o-2", 1)
        with from_end.consume() as consumer:
            assert take_acking(consumer, 1) == [later[0].sequence_number]
        with after.consume() as consumer:
            assert take_acking(consumer, 2) == [2, later[0].sequence_number]

    def test_a_reset_starts_the_group_over_at_once(self, store: EventStore) -> None:
        events = publish(store, "o-1", 3)
        group = store.log().consumer_group("billing")
        # Members read their group every 200 s: only being told at once of the reset (it
        # is made through the engine that serves them) hands out the events in time.
        group.create(settings=dataclasses.replace(FAST, member_timeout=600.0))
        with group.consume() as consumer:
            take_acking(consumer, 3)
            assert wait_until(lambda: group.info().lag == 0, WAIT)
            assert group.reset(start=After(0)).lag == 2
            assert take_acking(consumer, 2) == [event.sequence_number for event in events[1:]]

    def test_an_unacknowledged_delivery_is_delivered_again_after_its_ack_timeout(
        self, store: EventStore
    ) -> None:
        [event] = publish(store, "o-1", 1)
        group = store.log().consumer_group("billing")
        group.create(settings=GroupSettings(ack_timeout=0.2, retry_backoff=0.0))
        with group.consume() as consumer:
            [first] = take(consumer, 1)
            [again] = take(consumer, 1)
            assert (first.event, again.event, again.attempt) == (event, event, 2)
            first.ack()  # replaced: changes nothing
            again.ack()
            assert wait_until(lambda: group.info().lag == 0, WAIT)

    def test_what_a_consumer_leaves_unseen_goes_to_the_next_at_once(
        self, store: EventStore
    ) -> None:
        events = [publish(store, f"o-{n}", 1)[0] for n in range(3)]
        group = store.log().consumer_group("billing")
        # Deliveries stay out ten minutes unless settled: only a consumer that gives back
        # what it fetched ahead and never handed out lets the next one have them now.
        group.create(settings=dataclasses.replace(FAST, ack_timeout=600.0))
        with group.consume() as leaving:
            [first] = take(leaving, 1)
            first.ack()
        with group.consume() as joining:
            rest = take(joining, 2)
        assert sorted((d.event.sequence_number, d.attempt) for d in rest) == [
            (event.sequence_number, 1) for event in events if event != first.event
        ]

    def test_info_counts_lag_and_live_members(self, store: EventStore) -> None:
        publish(store, "o-1", 3)
        publish(store, "o-2", 2)
        group = store.log().consumer_group("billing")
        settings = GroupSettings(member_timeout=5.0, partitions=4, retry_backoff=0.0)
        assert group.create(settings=settings).lag == 5
        with group.consume(consumer_id="c-1") as consumer:
            assert group.info().members == ("c-1",)
            take_acking(consumer, 2)
            assert wait_until(lambda: group.info().lag == 3, WAIT)
        assert group.info().members == ()
        publish(store, "o-3", 1)
        assert group.info().lag == 4

    @pytest.mark.parametrize("scope", ["category", "query"])
    def test_lag_counts_only_the_targets_events_not_yet_done(
        self, store: EventStore, scope: str
    ) -> None:
        # Another category's events between the target's, and partitions that get apart:
        # what is counted above every checkpoint and what is read below must agree.
        users = store.stream(category="users", stream="u-1")
        publish(store, "o-1", 3)
        users.publish(events=new_events(2))
        publish(store, "o-2", 2)
        target = (
            store.category(category="orders")
            if scope == "category"
            else store.query(query=Query(items=[QueryItem(category="orders")]))
        )
        group = target.consumer_group("billing")
        assert group.create(settings=dataclasses.replace(ONE_AT_A_TIME, partitions=4)).lag == 5
        with group.consume(consumer_id="c-1") as consumer:
            # One at a time, lowest first: o-1's first two, while o-2 waits untouched.
            assert take_acking(consumer, 2) == [0, 1]
            assert wait_until(lambda: group.info().lag == 3, WAIT)
        users.publish(events=new_events(1))
        publish(store, "o-3", 1)
        assert group.info().lag == 4

    def test_lag_counts_events_done_out_of_turn_as_done(self, store: EventStore) -> None:
        # One partition, two streams: o-2's event is acknowledged while o-1's first is
        # still out, so the partition's checkpoint stays before both.
        publish(store, "o-1", 2)
        publish(store, "o-2", 1)
        group = store.log().consumer_group("billing")
        group.create(settings=dataclasses.replace(FAST, partitions=1, max_in_flight=2))
        with group.consume(consumer_id="c-1") as consumer:
            first, second = take(consumer, 2)
            assert numbers([first, second]) == [0, 2]
            second.ack()
            assert wait_until(lambda: group.info().lag == 2, WAIT)
            publish(store, "o-3", 1)
            assert group.info().lag == 3
            first.ack()

    def test_deleting_a_group_ends_its_consumers(self, store: EventStore) -> None:
        group = store.log().consumer_group("billing")
        group.create(settings=FAST)
        consumer = group.consume()
        received: list[Delivery] = []
        thread = threading.Thread(target=lambda: received.extend(consumer))
        thread.start()
        group.delete()
        thread.join(timeout=WAIT)
        alive = thread.is_alive()
        consumer.close()
        assert not alive and received == []
        with pytest.raises(GroupNotFoundError):
            group.info()

    def test_closing_a_consumer_from_another_thread_ends_its_iteration(
        self, store: EventStore
    ) -> None:
        group = store.log().consumer_group("billing")
        group.create(settings=FAST)
        consumer = group.consume(consumer_id="c-1")
        received: list[Delivery] = []
        thread = threading.Thread(target=lambda: received.extend(consumer))
        thread.start()
        consumer.close()
        thread.join(timeout=WAIT)
        assert not thread.is_alive() and received == []
        assert wait_until(lambda: group.info().members == (), WAIT)

    def test_a_consumer_dropped_without_closing_leaves_the_group(self, store: EventStore) -> None:
        publish(store, "o-1", 2)
        group = store.log().consumer_group("billing")
        # Live for a minute after its last call: only leaving takes it out of the group
        # within the wait below.
        group.create(settings=dataclasses.replace(FAST, member_timeout=60.0))
        consumer = group.consume(consumer_id="c-1")
        [delivery] = take(consumer, 1)
        del consumer
        gc.collect()
        # The delivery it handed out keeps it a member: acking that still counts.
        delivery.ack()
        assert group.info().members == ("c-1",)
        del delivery
        gc.collect()
        assert wait_until(lambda: group.info().members == (), WAIT)
        with group.consume(consumer_id="c-2") as joining:
            # The ack made before the drop was kept: only the second event is left.
            [rest] = take(joining, 1)
        assert rest.event.position == 1

    def test_consumers_share_a_group_and_keep_each_streams_order(self, store: EventStore) -> None:
        group = store.category(category="orders").consumer_group("billing")
        group.create(settings=FAST)
        lock = threading.Lock()
        acked: dict[str, set[int]] = defaultdict(set)
        acks: Counter[tuple[str, int]] = Counter()
        by_consumer: Counter[str] = Counter()
        out_of_order: list[tuple[str, int]] = []
        errors: list[BaseException] = []

        def work(consumer: GroupConsumer) -> None:
            try:
                for delivery in consumer:
                    stream, position = delivery.event.stream, delivery.event.position
                    with lock:
                        if position > 0 and position - 1 not in acked[stream]:
                            out_of_order.append((stream, position))
                        # Recorded before the ack: only then may the stream's next event go.
                        acked[stream].add(position)
                        acks[(stream, position)] += 1
                        by_consumer[consumer.consumer_id] += 1
                    delivery.ack()
            except BaseException as error:
                errors.append(error)

        def all_acked(count: int) -> bool:
            with lock:
                return sum(acks.values()) >= count

        consumers: list[GroupConsumer] = []
        threads: list[threading.Thread] = []

        def join(name: str) -> None:
            consumers.append(group.consume(consumer_id=name))
            threads.append(threading.Thread(target=work, args=(consumers[-1],)))
            threads[-1].start()

        streams = [f"o-{n}" for n in range(8)]
        published = 0
        join("consumer-a")
        try:
            # Rounds of one event per stream, each once the last is acknowledged. The second
            # consumer joins after the first round, so streams move from a busy consumer;
            # rounds go on until both have had events.
            for _ in range(500):
                for stream in streams:
                    publish(store, stream, 1)
                published += len(streams)
                assert wait_until(partial(all_acked, published), WAIT), (
                    f"{sum(acks.values())} of {published} acknowledged; errors: {errors}"
                )
                if len(consumers) == 1:
                    join("consumer-b")
                elif published >= 48 and len(by_consumer) == 2:
                    break
        finally:
            for consumer in consumers:
                consumer.close()
            for thread in threads:
                thread.join(timeout=WAIT)
        assert errors == [], f"consumers failed: {errors}"
        assert out_of_order == [], f"delivered before the previous was acknowledged: {out_of_order}"
        assert len(by_consumer) == 2, f"deliveries by consumer: {by_consumer}"
        assert sorted(acks) == [(s, p) for s in streams for p in range(published // 8)]
        twice = [key for key, count in acks.items() if count > 1]
        assert twice == [], f"acknowledged more than once: {twice}"
