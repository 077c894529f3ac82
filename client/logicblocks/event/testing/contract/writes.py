"""What every adapter does with publishes: numbering, conditions, races, retries, bad input."""

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from logicblocks.event.store import (
    EventStore,
    EventStream,
    InvalidInputError,
    UnmetWriteConditionError,
    position_is,
    stream_is_empty,
)
from logicblocks.event.types import NewEvent, StoredEvent

from .fixtures import AdapterFixtures
from .sample_events import deep, new_events, run_threads, unique


class WritesContract(AdapterFixtures):
    """Publishing, for every adapter. Part of ``StorageAdapterContract``."""

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
