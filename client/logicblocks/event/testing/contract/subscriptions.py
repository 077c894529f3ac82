"""What adapters that support subscriptions deliver: history, then live events, in order."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from logicblocks.event.store import (
    EventStore,
    InvalidInputError,
)
from logicblocks.event.store.adapters import StorageAdapter
from logicblocks.event.testing.waiting import take, wait_until
from logicblocks.event.types import NewEvent, StoredEvent
from logicblocks.event.types.query import Query

from .fixtures import AdapterFactory
from .sample_events import new_events, run_threads


class SubscriptionContract:
    """Subscriptions, for adapters that support them. Mixed into an adapter's contract class."""

    @pytest.fixture
    def adapter(self, adapter_factory: AdapterFactory) -> StorageAdapter:
        return adapter_factory()

    def test_a_subscription_delivers_history_then_live_events(
        self, adapter: StorageAdapter
    ) -> None:
        store = EventStore(adapter)
        stream = store.stream(category="orders", stream="o-1")
        history = list(stream.publish(events=new_events(3)))
        with store.log().subscribe() as subscription:
            assert take(subscription, 3) == history
            live = list(stream.publish(events=new_events(2)))
            assert take(subscription, 2) == live
            assert subscription.checkpoint == live[-1].sequence_number

    def test_a_subscription_from_the_end_sees_only_new_events(
        self, adapter: StorageAdapter
    ) -> None:
        store = EventStore(adapter)
        stream = store.stream(category="orders", stream="o-1")
        stream.publish(events=new_events(3))
        with store.log().subscribe(from_end=True) as subscription:
            new = list(stream.publish(events=new_events(1)))
            assert take(subscription, 1) == new

    def test_a_subscription_resumes_after_a_sequence_number(self, adapter: StorageAdapter) -> None:
        store = EventStore(adapter)
        published = list(
            store.stream(category="orders", stream="o-1").publish(events=new_events(5))
        )
        with store.log().subscribe(after_sequence_number=2) as subscription:
            assert take(subscription, 2) == published[3:]

    def test_category_and_stream_subscriptions_see_only_their_target(
        self, adapter: StorageAdapter
    ) -> None:
        store = EventStore(adapter)
        wanted = store.stream(category="orders", stream="o-1")
        other_stream = store.stream(category="orders", stream="o-2")
        other_category = store.stream(category="users", stream="o-1")
        with (
            store.category(category="orders").subscribe() as in_category,
            wanted.subscribe() as in_stream,
        ):
            expected_category: list[StoredEvent] = []
            expected_stream: list[StoredEvent] = []
            for _ in range(3):
                other_category.publish(events=new_events(1))
                published = list(wanted.publish(events=new_events(1)))
                expected_category += published
                expected_stream += published
                expected_category += other_stream.publish(events=new_events(1))
            assert take(in_category, 6) == expected_category
            assert take(in_stream, 3) == expected_stream

    def test_a_quiet_subscription_checkpoints_past_other_targets_events(
        self, adapter: StorageAdapter
    ) -> None:
        store = EventStore(adapter)
        with store.category(category="quiet").subscribe() as subscription:
            published = store.stream(category="busy", stream="b").publish(events=new_events(3))
            head = published[-1].sequence_number

            def reached_head() -> bool:
                # The checkpoint moves while the subscriber waits, so read it from a thread
                # that is iterating: take() blocks until close, which wait_until triggers.
                return subscription.caught_up and subscription.checkpoint >= head

            consumer = threading.Thread(target=lambda: take(subscription, 1, timeout=20))
            consumer.start()
            try:
                assert wait_until(reached_head, timeout=20)
            finally:
                subscription.close()
                consumer.join(timeout=20)

    def test_a_query_subscription_sees_only_matches_and_checkpoints_past_the_rest(
        self, adapter: StorageAdapter
    ) -> None:
        store = EventStore(adapter)
        course = Query.of(tags=["course:c1"])
        courses = store.stream(category="courses", stream="c1")
        history = courses.publish(events=new_events(1, tags=["course:c1"]))
        with store.query(query=course).subscribe() as subscription:
            assert take(subscription, 1) == list(history)
            store.stream(category="other", stream="o").publish(events=new_events(2))
            live = courses.publish(events=new_events(1, tags=["course:c1", "x"]))
            assert take(subscription, 1) == list(live)
            skipped = store.stream(category="other", stream="o").publish(events=new_events(3))
            head = skipped[-1].sequence_number

            def reached_head() -> bool:
                return subscription.caught_up and subscription.checkpoint >= head

            consumer = threading.Thread(target=lambda: take(subscription, 1, timeout=20))
            consumer.start()
            try:
                assert wait_until(reached_head, timeout=20)
            finally:
                subscription.close()
                consumer.join(timeout=20)

    def test_a_subscription_starts_at_a_time(self, adapter: StorageAdapter) -> None:
        store = EventStore(adapter)
        stream = store.stream(category="orders", stream="o-1")

        # Events observed now, in order: the builder's observed_at is random.
        def now(count: int) -> list[NewEvent]:
            return [NewEvent(name="e", payload={}) for _ in range(count)]

        stream.publish(events=now(1))
        later = list(stream.publish(events=now(2)))
        with store.log().subscribe(since=later[0].observed_at) as subscription:
            live = list(stream.publish(events=now(1)))
            assert take(subscription, 3) == later + live

    def test_concurrent_writers_each_subscriber_sees_the_final_log_exactly(
        self, adapter: StorageAdapter
    ) -> None:
        store = EventStore(adapter)
        writers, publishes, batch = 4, 10, 2
        total = writers * publishes * batch
        subscriptions = [store.log().subscribe() for _ in range(3)]
        results: list[list[StoredEvent]] = [[] for _ in subscriptions]

        def consume(index: int) -> None:
            results[index] = take(subscriptions[index], total, timeout=60)

        consumers = [threading.Thread(target=consume, args=(i,)) for i in range(3)]
        for consumer in consumers:
            consumer.start()

        def write(index: int) -> None:
            stream = store.stream(category="race", stream=f"s-{index}")
            for _ in range(publishes):
                stream.publish(events=new_events(batch))

        try:
            run_threads(writers, write)
            for consumer in consumers:
                consumer.join(timeout=90)
        finally:
            for subscription in subscriptions:
                subscription.close()
        final = list(store.log())
        assert len(final) == total
        for seen in results:
            assert seen == final

    def test_closing_a_subscription_ends_its_iteration(self, adapter: StorageAdapter) -> None:
        store = EventStore(adapter)
        subscription = store.log().subscribe()
        closer = threading.Timer(0.2, subscription.close)
        closer.start()
        assert list(subscription) == []
        closer.join()

    def test_a_bad_start_is_rejected(self, adapter: StorageAdapter) -> None:
        store = EventStore(adapter)
        with pytest.raises(InvalidInputError) as raised:
            store.log().subscribe(after_sequence_number=3, from_end=True)
        assert raised.value.field == "after_sequence_number"

    @pytest.mark.parametrize("beyond", [1, 1000])
    def test_a_start_beyond_the_head_is_refused_naming_the_true_head(
        self, adapter: StorageAdapter, beyond: int
    ) -> None:
        # A checkpoint from another store or from before a restore: starting there would
        # skip every event up to it, unseen, once they are written.
        EventStore(adapter).stream(category="c", stream="s").publish(events=new_events(3))
        with pytest.raises(InvalidInputError) as raised:
            subscription = adapter.subscribe(after_sequence_number=2 + beyond)
            # In a thread: a subscription that accepted the start would wait for ever.
            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(next, subscription)
                try:
                    first.result(timeout=60)
                finally:
                    subscription.close()
        assert raised.value.field == "after_sequence_number"
        assert "beyond the head of the store (2)" in raised.value.rule
        # The head itself is a valid start: nothing after it yet, then live events.
        subscription = adapter.subscribe(after_sequence_number=2)
        EventStore(adapter).stream(category="c", stream="s").publish(events=new_events(1))
        assert next(subscription).sequence_number == 3
        subscription.close()
