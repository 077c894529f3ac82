"""What every adapter reads back: targets in order, resumable and lazy scans, exact values."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicblocks.event.store import (
    EventStore,
    InvalidInputError,
    UnmetWriteConditionError,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.adapters import StorageAdapter
from logicblocks.event.types import NewEvent, StoredEvent, identifier

from .fixtures import AdapterFixtures
from .sample_events import deep, new_events, run_threads, unique


class ReadsContract(AdapterFixtures):
    """Reading, for every adapter. Part of ``StorageAdapterContract``."""

    def test_streams_and_categories_exist_implicitly(self, store: EventStore) -> None:
        assert store.stream(category="nothing", stream="here").read() == []
        assert store.category(category="nothing").read() == []
        assert list(store.log()) == []

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

    def test_a_bad_scan_bound_is_rejected(self, adapter: StorageAdapter) -> None:
        with pytest.raises(InvalidInputError) as raised:
            list(adapter.scan(target=identifier.Log(), after_sequence_number=-2))
        assert raised.value.field == "after_sequence_number"

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
