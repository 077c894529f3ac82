"""The storage adapter contract: every adapter runs this one suite.

Subclass ``StorageAdapterContract`` in a ``test_*.py`` module and provide the
``adapter_factory`` fixture: a callable that returns a new, empty adapter each time it is
called (the fixture closes what it made). Every promise of docs/invariants.md is checked
here, once, against whatever the factory makes.
"""

import random
import string
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicblocks.event.storage.engine import RecordStorageAdapter, payload_bytes
from logicblocks.event.store import (
    EventStore,
    EventStream,
    InvalidInputError,
    UnmetWriteConditionError,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.adapters import StorageAdapter
from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.testing import NewEventBuilder
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from tests.support.subscribers import take, wait_until

AdapterFactory = Callable[[], StorageAdapter]


def new_events(count: int, **overrides: Any) -> list[NewEvent]:
    builder = NewEventBuilder()
    for key, value in overrides.items():
        builder = getattr(builder, f"with_{key}")(value)
    return [builder.build() for _ in range(count)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads released together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a writer thread did not finish"
    if errors:
        raise errors[0]


def deep(levels: int, innermost: object) -> object:
    """``innermost`` inside ``levels`` nested objects."""
    value = innermost
    for _ in range(levels):
        value = {"in": value}
    return value


class StorageAdapterContract:
    """The behaviour every storage adapter shares. Subclasses provide ``adapter_factory``."""

    @pytest.fixture
    def adapter_factory(self) -> Iterator[AdapterFactory]:
        raise NotImplementedError("subclasses provide adapter_factory")

    @pytest.fixture
    def adapter(self, adapter_factory: AdapterFactory) -> StorageAdapter:
        return adapter_factory()

    @pytest.fixture
    def store(self, adapter: StorageAdapter) -> EventStore:
        return EventStore(adapter)

    # Positions and sequence numbers -------------------------------------------------------

    def test_positions_and_sequence_numbers_are_contiguous_from_zero(
        self, store: EventStore
    ) -> None:
        a = store.stream(category="orders", stream="a")
        b = store.stream(category="orders", stream="b")
        c = store.stream(category="users", stream="a")
        a.publish(events=new_events(2))
        b.publish(events=new_events(3))
        a.publish(events=new_events(1))
        c.publish(events=new_events(2))

        assert [e.position for e in a.read()] == [0, 1, 2]
        assert [e.position for e in b.read()] == [0, 1, 2]
        assert [e.position for e in c.read()] == [0, 1]
        assert [e.sequence_number for e in store.log()] == list(range(8))

    def test_publish_returns_the_stored_events(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        events = new_events(3)
        stored = stream.publish(events=events)
        assert [(e.name, dict(e.payload)) for e in stored] == [
            (e.name, dict(e.payload)) for e in events
        ]
        assert all(e.category == "orders" and e.stream == "o-1" for e in stored)
        assert list(stored) == stream.read()
        assert len({e.id for e in stored}) == 3

    def test_publish_of_no_events_writes_nothing(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        assert list(stream.publish(events=[])) == []
        assert list(store.log()) == []

    def test_streams_and_categories_exist_implicitly(self, store: EventStore) -> None:
        assert store.stream(category="nothing", stream="here").read() == []
        assert store.category(category="nothing").read() == []
        assert list(store.log()) == []

    # Reads ----------------------------------------------------------------------------

    def test_scans_return_their_target_in_sequence_order(self, store: EventStore) -> None:
        published: list[StoredEvent] = []
        for round_number in range(3):
            for category in ("orders", "users"):
                for name in ("a", "b"):
                    stream = store.stream(category=category, stream=name)
                    published.extend(stream.publish(events=new_events(round_number + 1)))

        assert list(store.log()) == published
        orders = store.category(category="orders").read()
        assert orders == [e for e in published if e.category == "orders"]
        stream_b = store.category(category="users").stream(stream="b").read()
        assert stream_b == [e for e in published if (e.category, e.stream) == ("users", "b")]
        for events in (orders, stream_b):
            numbers = [e.sequence_number for e in events]
            assert numbers == sorted(numbers)

    def test_scans_resume_after_a_sequence_number(
        self, store: EventStore, adapter: StorageAdapter
    ) -> None:
        published: list[StoredEvent] = []
        for name in ("a", "b", "a", "b"):
            published.extend(
                store.stream(category="orders", stream=name).publish(events=new_events(2))
            )
        assert list(store.log().read(after_sequence_number=3)) == published[4:]
        assert list(store.log().read(after_sequence_number=-1)) == published
        assert list(store.log().read(after_sequence_number=100)) == []
        in_category = adapter.scan(
            target=identifier.Category(category="orders"), after_sequence_number=4
        )
        assert list(in_category) == published[5:]
        in_stream = adapter.scan(
            target=identifier.Stream(category="orders", stream="a"), after_sequence_number=1
        )
        assert list(in_stream) == published[4:6]

    def test_read_returns_a_list_on_every_scope_and_scan_resumes(self, store: EventStore) -> None:
        published: list[StoredEvent] = []
        for name in ("a", "b", "a"):
            published.extend(
                store.stream(category="orders", stream=name).publish(events=new_events(2))
            )
        stream = store.stream(category="orders", stream="a")
        category = store.category(category="orders")
        log = store.log()
        for scope, expected in (
            (stream, [e for e in published if e.stream == "a"]),
            (category, published),
            (log, published),
        ):
            read = scope.read()
            # The documented return type is a Sequence: indexable, sized, reusable.
            assert isinstance(read, list)
            assert read == expected
            assert (
                list(scope.scan(after_sequence_number=expected[0].sequence_number))
                == (expected[1:])
            )
            assert scope.read(after_sequence_number=expected[-1].sequence_number) == []

    def test_iteration_is_lazy_and_can_be_abandoned(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        stream.publish(events=new_events(250))
        iterator = iter(stream)
        first = next(iterator)
        assert first.position == 0
        del iterator
        assert len(stream.read()) == 250

    def test_a_scan_ends_at_the_head_as_it_was_when_it_began(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        # More than a page of every backend, so the scan must ask for a second page.
        before = list(stream.publish(events=new_events(1001)))
        scan = iter(store.log())
        first = next(scan)
        stream.publish(events=new_events(4))
        assert [first, *scan] == before

    def test_a_scan_sees_whole_batches_while_others_publish(self, adapter: StorageAdapter) -> None:
        store = EventStore(adapter)
        stop = threading.Event()
        batch = 5

        def write(index: int) -> None:
            stream = store.stream(category="busy", stream=f"s-{index}")
            for _ in range(15):
                stream.publish(events=new_events(batch))
            stop.set()

        observations: list[list[StoredEvent]] = []

        def read() -> None:
            while not stop.is_set():
                observations.append(list(store.log()))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            run_threads(4, write)
        finally:
            stop.set()
            reader.join(timeout=60)
        observations.append(list(store.log()))

        for seen in observations:
            assert [e.sequence_number for e in seen] == list(range(len(seen)))
            per_stream: dict[str, list[int]] = {}
            for event in seen:
                per_stream.setdefault(event.stream, []).append(event.position)
            for positions in per_stream.values():
                assert positions == list(range(len(positions)))
                assert len(positions) % batch == 0, "a scan saw part of a publish"
        assert len(observations[-1]) == 4 * 15 * batch

    # Conditions -----------------------------------------------------------------------

    def test_stream_is_empty_holds_only_for_an_empty_stream(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        stream.publish(events=new_events(1), conditions={stream_is_empty()})
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=new_events(1), conditions={stream_is_empty()})
        assert len(stream.read()) == 1

    def test_position_is_compares_values_at_large_positions(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        stream.publish(events=new_events(1001))
        stored = stream.publish(events=new_events(1), conditions={position_is(1000)})
        assert stored[0].position == 1001
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=new_events(1), conditions={position_is(1000)})
        assert len(stream.read()) == 1002

    def test_position_is_fails_on_an_empty_stream(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=new_events(1), conditions={position_is(0)})
        assert stream.read() == []

    def test_an_unmet_condition_reports_the_stream_and_its_last_position(
        self, store: EventStore
    ) -> None:
        stream = store.stream(category="orders", stream="o-1")
        stream.publish(events=new_events(3))
        with pytest.raises(UnmetWriteConditionError) as raised:
            stream.publish(events=new_events(1), conditions={position_is(1)})
        assert (raised.value.category, raised.value.stream) == ("orders", "o-1")
        assert raised.value.last_position == 2

    def test_a_failing_condition_writes_nothing_of_the_batch(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        stream.publish(events=new_events(2))
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=new_events(5), conditions={position_is(1), stream_is_empty()})
        assert len(stream.read()) == 2
        assert len(list(store.log())) == 2
        # The failed publish left no hole in either numbering.
        after = stream.publish(events=new_events(1), conditions={position_is(1)})
        assert (after[0].position, after[0].sequence_number) == (2, 2)

    # Concurrency ----------------------------------------------------------------------

    def test_racing_conditional_writers_exactly_one_wins_each_round(
        self, store: EventStore
    ) -> None:
        writers, rounds = 8, 5
        stream = store.stream(category="race", stream="r-1")
        stream.publish(events=new_events(1))
        for round_number in range(rounds):
            wins, losses = self._race_once(stream, writers, expected=round_number)
            assert len(wins) == 1, f"round {round_number}: {len(wins)} writers won"
            assert len(losses) == writers - 1
        assert [e.position for e in stream.read()] == list(range(rounds + 1))

    @staticmethod
    def _race_once(
        stream: EventStream, writers: int, *, expected: int
    ) -> tuple[list[int], list[int]]:
        wins: list[int] = []
        losses: list[int] = []
        lock = threading.Lock()

        def attempt(index: int) -> None:
            try:
                stream.publish(events=new_events(1), conditions={position_is(expected)})
            except UnmetWriteConditionError:
                with lock:
                    losses.append(index)
            else:
                with lock:
                    wins.append(index)

        run_threads(writers, attempt)
        return wins, losses

    def test_racing_unconditional_writers_lose_nothing_and_keep_batches_whole(
        self, store: EventStore
    ) -> None:
        writers, publishes, batch = 8, 10, 3
        shared = store.stream(category="race", stream="shared")

        returned: dict[tuple[int, int], list[StoredEvent]] = {}

        def write(index: int) -> None:
            for number in range(publishes):
                returned[(index, number)] = list(
                    shared.publish(
                        events=[
                            NewEvent(name="written", payload={"writer": index, "publish": number})
                            for _ in range(batch)
                        ]
                    )
                )

        run_threads(writers, write)
        events = shared.read()
        # What each publish returned is exactly what was stored for it.
        assert sorted(
            (e for published in returned.values() for e in published),
            key=lambda e: e.sequence_number,
        ) == list(events)
        for (index, number), published in returned.items():
            assert len(published) == batch
            assert {(e.payload["writer"], e.payload["publish"]) for e in published} == {
                (index, number)
            }
        assert len(events) == writers * publishes * batch
        assert [e.position for e in events] == list(range(len(events)))
        assert [e.sequence_number for e in store.log()] == list(range(len(events)))
        for start in range(0, len(events), batch):
            chunk = events[start : start + batch]
            assert len({(e.payload["writer"], e.payload["publish"]) for e in chunk}) == 1
        stored_publishes = {(e.payload["writer"], e.payload["publish"]) for e in events}
        assert len(stored_publishes) == writers * publishes

    # Round trips ----------------------------------------------------------------------

    def test_payloads_round_trip_exactly(self, store: EventStore) -> None:
        payload = {
            "nested": {"list": [1, "two", 3.5, None, True, False, {"deep": [[]]}]},
            "unicode": 'Zoë 😀 ünïcödé \u2028 \x00 \\ "quoted"',
            "big": 2**53 + 1,
            "bigger": -(2**70),
            "float": 0.1,
            "tiny": 5e-324,
            "huge_float": 1.7976931348623157e308,
            "whole_float": 2.0,
            "empty": {},
            "": "empty key",
            # Longer than Python's int() takes by default (4300 digits).
            "huge": -(10**5000) - 3,
            # 100 levels of objects and arrays: the most a payload may nest.
            "deepest": deep(98, [1, "leaf"]),
        }
        stream = store.stream(category="payloads", stream="p-1")
        published = stream.publish(events=[NewEvent(name="exact", payload=payload)])
        (read,) = stream.read()
        for event in (published[0], read):
            assert event.payload == payload
            assert isinstance(event.payload["whole_float"], float)
            assert isinstance(event.payload["big"], int)

    def test_timestamps_round_trip_as_utc_to_the_microsecond(self, store: EventStore) -> None:
        observed = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
        occurred = datetime(2024, 3, 1, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=5)))
        stream = store.stream(category="times", stream="t-1")
        stream.publish(
            events=[NewEvent(name="timed", payload={}, observed_at=observed, occurred_at=occurred)]
        )
        (event,) = stream.read()
        assert event.observed_at == observed
        assert event.occurred_at == occurred
        assert event.observed_at.utcoffset() == timedelta(0)
        assert event.occurred_at.utcoffset() == timedelta(0)
        assert event.occurred_at.hour == 20 and event.occurred_at.microsecond == 456789

    # Retries --------------------------------------------------------------------------

    def test_republishing_events_with_known_ids_returns_the_stored_events(
        self, store: EventStore
    ) -> None:
        stream = store.stream(category="orders", stream="o-1")
        events = [NewEvent(name="placed", payload={"n": n}, id=unique("event")) for n in range(3)]
        first = stream.publish(events=events, conditions={stream_is_empty()})
        again = stream.publish(events=events, conditions={stream_is_empty()})
        assert list(again) == list(first)
        assert [e.id for e in first] == [e.id for e in events]
        assert len(stream.read()) == 3

    def test_a_partly_stored_publish_is_rejected(self, store: EventStore) -> None:
        stream = store.stream(category="orders", stream="o-1")
        known = NewEvent(name="placed", payload={}, id=unique("event"))
        stream.publish(events=[known])
        fresh = NewEvent(name="placed", payload={}, id=unique("event"))
        with pytest.raises(InvalidInputError) as raised:
            stream.publish(events=[fresh, known])
        assert raised.value.field == "events[1].id"
        assert len(stream.read()) == 1

    def test_an_id_used_in_another_stream_is_rejected(self, store: EventStore) -> None:
        event = NewEvent(name="placed", payload={}, id=unique("event"))
        store.stream(category="orders", stream="o-1").publish(events=[event])
        with pytest.raises(InvalidInputError) as raised:
            store.stream(category="orders", stream="o-2").publish(events=[event])
        assert raised.value.field == "events[0].id"
        assert len(list(store.log())) == 1

    def test_an_id_used_by_a_different_event_in_the_stream_is_rejected(
        self, store: EventStore
    ) -> None:
        stream = store.stream(category="orders", stream="o-1")
        event_id = unique("event")
        stream.publish(events=[NewEvent(name="placed", payload={"total": 5}, id=event_id)])
        with pytest.raises(InvalidInputError) as raised:
            stream.publish(events=[NewEvent(name="placed", payload={"total": 6}, id=event_id)])
        assert raised.value.field == "events[0].id"
        assert [e.payload for e in stream.read()] == [{"total": 5}]

    # Bad input ------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("event_kwargs", "field"),
        [
            ({"payload": {"when": datetime.now(UTC)}}, "events[1].payload"),
            ({"payload": {"set": {1, 2}}}, "events[1].payload"),
            ({"payload": {1: "int key"}}, "events[1].payload"),
            ({"payload": {"nan": float("nan")}}, "events[1].payload"),
            ({"payload": {"tuple": (1, 2)}}, "events[1].payload"),
            ({"payload": ["not", "an", "object"]}, "events[1].payload"),
            ({"name": ""}, "events[1].name"),
            ({"name": "nul\x00"}, "events[1].name"),
            ({"name": "lone \ud800"}, "events[1].name"),
            ({"id": "nul\x00"}, "events[1].id"),
            ({"id": "i" * 1025}, "events[1].id"),
            ({"name": "n" * 1025}, "events[1].name"),
            ({"payload": {"text": "lone \udfff"}}, "events[1].payload"),
            ({"payload": {"key \ud800": 1}}, "events[1].payload"),
            # 101 levels of objects and arrays, one more than a payload may nest.
            ({"payload": {"deep": deep(99, [])}}, "events[1].payload"),
            ({"observed_at": datetime(2024, 1, 1)}, "events[1].observed_at"),
            (
                {"observed_at": datetime.now(UTC), "occurred_at": datetime(2024, 1, 1)},
                "events[1].occurred_at",
            ),
        ],
    )
    def test_bad_events_are_rejected_naming_the_field_and_nothing_is_written(
        self, store: EventStore, event_kwargs: dict[str, Any], field: str
    ) -> None:
        stream = store.stream(category="orders", stream="o-1")
        good = NewEvent(name="fine", payload={"ok": True})
        kwargs: dict[str, Any] = {"name": "bad", "payload": {}} | event_kwargs
        with pytest.raises(InvalidInputError) as raised:
            stream.publish(events=[good, NewEvent(**kwargs)])
        assert raised.value.field == field
        assert str(raised.value).startswith(field)
        assert list(store.log()) == []

    @pytest.mark.parametrize(
        ("category", "stream", "field"),
        [
            ("", "s", "category"),
            ("c", "", "stream"),
            ("c\x00", "s", "category"),
            ("c", "s\ud800", "stream"),
            ("c" * 1025, "s", "category"),
            ("c", "é" * 513, "stream"),
        ],
    )
    def test_empty_and_unstorable_names_are_rejected(
        self, store: EventStore, category: str, stream: str, field: str
    ) -> None:
        with pytest.raises(InvalidInputError) as raised:
            store.stream(category=category, stream=stream).publish(events=new_events(1))
        assert raised.value.field == field
        assert list(store.log()) == []

    def test_negative_positions_are_rejected(self) -> None:
        with pytest.raises(InvalidInputError) as raised:
            position_is(-1)
        assert raised.value.field == "position"

    def test_a_bad_scan_bound_is_rejected(self, adapter: StorageAdapter) -> None:
        with pytest.raises(InvalidInputError) as raised:
            list(adapter.scan(target=identifier.Log(), after_sequence_number=-2))
        assert raised.value.field == "after_sequence_number"

    # Against a reference model --------------------------------------------------------

    @settings(
        max_examples=40,
        deadline=None,
        # Each adapter's subclass runs this same method: that is the point of the suite.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        operations=st.lists(
            st.tuples(
                st.sampled_from(["c1", "c2"]),
                st.sampled_from(["s1", "s2", "s3"]),
                st.integers(min_value=0, max_value=4),
                st.sampled_from(["none", "empty", "right", "wrong"]),
            ),
            max_size=12,
        )
    )
    def test_random_publishes_match_a_reference_model(
        self, adapter: StorageAdapter, operations: list[tuple[str, str, int, str]]
    ) -> None:
        # The adapter is shared by the examples, so each example works under fresh names
        # and reads the log only after the head it started from.
        store = EventStore(adapter)
        prefix = unique("model")
        start = max((e.sequence_number for e in store.log()), default=-1)
        model_streams: dict[tuple[str, str], list[str]] = {}
        model_log: list[tuple[str, str, str]] = []
        for category, stream_name, count, condition_kind in operations:
            category = f"{prefix}-{category}"
            key = (category, stream_name)
            existing = model_streams.setdefault(key, [])
            conditions = {
                "none": set(),
                "empty": {stream_is_empty()},
                "right": {position_is(len(existing) - 1)} if existing else {stream_is_empty()},
                "wrong": {position_is(len(existing) + 3)},
            }[condition_kind]
            should_fail = condition_kind == "wrong" or (condition_kind == "empty" and existing)
            names = [f"e{len(model_log) + i}" for i in range(count)]
            events = [NewEvent(name=name, payload={"name": name}) for name in names]
            stream = store.stream(category=category, stream=stream_name)
            if should_fail:
                with pytest.raises(UnmetWriteConditionError):
                    stream.publish(events=events, conditions=conditions)
                continue
            stream.publish(events=events, conditions=conditions)
            existing.extend(names)
            model_log.extend((category, stream_name, name) for name in names)

        log = list(store.log().read(after_sequence_number=start))
        assert [(e.category, e.stream, e.name) for e in log] == model_log
        assert [e.sequence_number for e in log] == list(range(start + 1, start + 1 + len(log)))
        for (category, stream_name), names in model_streams.items():
            in_stream = store.stream(category=category, stream=stream_name).read()
            assert [e.name for e in in_stream] == names
            assert [e.position for e in in_stream] == list(range(len(names)))
        for category in {c for c, _ in model_streams}:
            expected = [name for c, _, name in model_log if c == category]
            assert [e.name for e in store.category(category=category).read()] == expected


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


class RecordStorageContract:
    """``read_records``, for the adapters that hold events themselves (``RecordStorageAdapter``).

    Mixed into an adapter's contract class beside ``StorageAdapterContract``.
    """

    @pytest.fixture
    def records(self, adapter_factory: AdapterFactory) -> RecordStorageAdapter:
        adapter = adapter_factory()
        assert isinstance(adapter, RecordStorageAdapter)
        return adapter

    @staticmethod
    def _publish_sized(adapter: RecordStorageAdapter, stream: str, sizes: list[int]) -> None:
        # Random letters (which PostgreSQL cannot compress), repeated letters (which it
        # does) and non-ASCII text (two bytes a character), so every way a backend may
        # measure a payload is crossed.
        generator = random.Random(len(sizes))
        payloads: list[dict[str, Any]] = []
        for index, size in enumerate(sizes):
            kind = index % 3
            if kind == 0:
                text = "".join(generator.choices(string.ascii_letters, k=size))
            elif kind == 1:
                text = "x" * size
            else:
                text = "é" * (size // 2)
            payloads.append({"text": text})
        EventStore(adapter).stream(category="sized", stream=stream).publish(
            events=[NewEvent(name="sized", payload=payload) for payload in payloads]
        )

    @staticmethod
    def _expected_pages(sizes: list[int], max_bytes: int, limit: int | None) -> list[list[int]]:
        # The rule, stated independently of the code under test: a page takes records
        # while their payloads total at most max_bytes, but always at least one.
        pages: list[list[int]] = []
        index = 0
        while index < len(sizes):
            page, total = [index], sizes[index]
            index += 1
            while (
                index < len(sizes)
                and total + sizes[index] <= max_bytes
                and (limit is None or len(page) < limit)
            ):
                total += sizes[index]
                page.append(index)
                index += 1
            pages.append(page)
        return pages

    @pytest.mark.parametrize("limit", [None, 3])
    @pytest.mark.parametrize(
        "target",
        [
            identifier.Log(),
            identifier.Category(category="sized"),
            identifier.Stream(category="sized", stream="a"),
        ],
    )
    def test_a_byte_bounded_read_stops_at_its_budget_but_takes_at_least_one(
        self, records: RecordStorageAdapter, target: Scannable, limit: int | None
    ) -> None:
        # Small payloads stored inline and large ones stored apart (over 8 KiB), some over
        # the budget on their own.
        self._publish_sized(
            records, "a", [300, 900, 20_000, 15_000, 30_000, 70_000, 200, 200, 12_000, 9_000]
        )
        stored = list(records.read_records(target=target))
        sizes = [payload_bytes(record) for record in stored]
        for max_bytes in (30_000, sum(sizes[:3])):  # the second fits the first page exactly
            assert self._pages(records, target, limit, max_bytes, stored) == (
                self._expected_pages(sizes, max_bytes, limit)
            )

    @staticmethod
    def _pages(
        records: RecordStorageAdapter,
        target: Scannable,
        limit: int | None,
        max_bytes: int,
        stored: list[EventRecord],
    ) -> list[list[int]]:
        pages: list[list[int]] = []
        after = NO_EVENTS
        while True:
            page = list(
                records.read_records(
                    target=target, after_sequence_number=after, limit=limit, max_bytes=max_bytes
                )
            )
            if not page:
                break
            pages.append([stored.index(record) for record in page])
            after = page[-1].sequence_number
        return pages
