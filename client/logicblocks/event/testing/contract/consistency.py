"""What every adapter does with tags, metadata, queries and publishes across streams."""

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicblocks.event.store import (
    EventStore,
    InvalidInputError,
    UnmetWriteConditionError,
    no_event_matches,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.testing.publish_model import ModelEvent, ModelWrite, PublishModel
from logicblocks.event.types import NewEvent
from logicblocks.event.types.query import Query, QueryItem

from .fixtures import AdapterFixtures
from .sample_events import run_threads, unique


def tagged(name: str, *tags: str, id: str | None = None) -> NewEvent:
    return NewEvent(name=name, payload={}, tags=tags, id=id)


class ConsistencyContract(AdapterFixtures):
    """Tags, metadata, reads by query and by time, multi-stream publishes and query
    conditions, for every adapter. Part of ``StorageAdapterContract``."""

    def test_tags_and_metadata_round_trip_exactly(self, store: EventStore) -> None:
        metadata = {
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "correlation": {"id": "c-1", "depth": 2, "ratio": 0.5, "ok": True, "none": None},
            "text": "naïve ✓ \u0000 end",
        }
        stream = store.stream(category="courses", stream="c1")
        stored = stream.publish(
            events=[
                NewEvent(
                    name="course-defined",
                    payload={"capacity": 2},
                    tags=["course:c1", "term:2026", "course:c1"],
                    metadata=metadata,
                ),
                NewEvent(name="course-renamed", payload={}),
            ]
        )
        assert stored[0].tags == {"course:c1", "term:2026"}
        assert dict(stored[0].metadata) == metadata
        assert stored[1].tags == frozenset() and dict(stored[1].metadata) == {}
        for read in (stream.read(), store.log().read(), store.category(category="courses").read()):
            assert list(read) == list(stored)

    def test_a_query_reads_matching_events_in_sequence_order(self, store: EventStore) -> None:
        courses = store.stream(category="courses", stream="c1")
        students = store.stream(category="students", stream="s1")
        other = store.stream(category="courses", stream="c2")
        log = [
            *courses.publish(events=[tagged("course-defined", "course:c1")]),
            *students.publish(events=[tagged("student-registered", "student:s1")]),
            *other.publish(events=[tagged("course-defined", "course:c2")]),
            *students.publish(events=[tagged("subscribed", "student:s1", "course:c1")]),
            *courses.publish(events=[tagged("course-renamed", "course:c1", "term:x")]),
        ]

        def read(query: Query, after: int | None = None) -> list[int]:
            scope = store.query(query=query)
            return [e.sequence_number for e in scope.read(after_sequence_number=after)]

        numbers = [e.sequence_number for e in log]
        assert read(Query.of(tags=["course:c1"])) == [numbers[0], numbers[3], numbers[4]]
        assert read(Query.of(tags=["course:c1", "student:s1"])) == [numbers[3]]
        assert read(Query.of(names=["course-defined", "subscribed"])) == [
            numbers[0],
            numbers[2],
            numbers[3],
        ]
        assert read(Query.of(category="courses", names=["course-defined"])) == [
            numbers[0],
            numbers[2],
        ]
        assert read(Query.of(category="courses", stream="c1")) == [numbers[0], numbers[4]]
        either = Query.of(tags=["course:c2"]) | Query.of(category="students", tags=["course:c1"])
        assert read(either) == [numbers[2], numbers[3]]
        assert read(Query.of(tags=["course:c1"]), after=numbers[0]) == [numbers[3], numbers[4]]
        assert read(Query.of(tags=["nobody"])) == []
        assert [e.name for e in store.query(query=Query.of(tags=["term:x"]))] == ["course-renamed"]

    def test_reads_start_at_the_first_event_observed_at_or_after_a_time(
        self, store: EventStore
    ) -> None:
        stream = store.stream(category="orders", stream="o-1")
        first = stream.publish(events=[tagged("placed")])[0]
        second = stream.publish(events=[tagged("paid")])[0]
        assert second.observed_at >= first.observed_at
        later = stream.publish(events=[tagged("shipped", "t")])[0]

        since = second.observed_at
        expected = [e for e in store.log().read() if e.observed_at >= since]
        assert store.log().read(since=since) == expected
        assert [e.name for e in expected][-2:] == ["paid", "shipped"]
        assert stream.read(since=since) == expected
        assert store.query(query=Query.of(tags=["t"])).read(since=first.observed_at) == [later]
        assert store.log().read(since=later.observed_at + timedelta(days=1)) == []

    def test_a_multi_stream_publish_is_contiguous_in_the_order_given(
        self, store: EventStore
    ) -> None:
        account_a = store.stream(category="accounts", stream="a")
        account_b = store.stream(category="accounts", stream="b")
        ledger = store.stream(category="ledger", stream="2026")
        account_a.publish(events=[tagged("opened")])
        stored = store.publish(
            writes=[
                account_b.write(events=[tagged("credited", "transfer:t1")]),
                account_a.write(
                    events=[tagged("debited", "transfer:t1"), tagged("checked")],
                    conditions={position_is(0)},
                ),
                ledger.write(events=[tagged("recorded", "transfer:t1")]),
            ]
        )
        assert [(e.category, e.stream, e.name, e.position) for e in stored] == [
            ("accounts", "b", "credited", 0),
            ("accounts", "a", "debited", 1),
            ("accounts", "a", "checked", 2),
            ("ledger", "2026", "recorded", 0),
        ]
        numbers = [e.sequence_number for e in stored]
        assert numbers == list(range(numbers[0], numbers[0] + 4))
        assert store.log().read(after_sequence_number=numbers[0] - 1) == list(stored)

    def test_a_failed_condition_in_one_stream_writes_no_stream(self, store: EventStore) -> None:
        a = store.stream(category="accounts", stream="a")
        b = store.stream(category="accounts", stream="b")
        a.publish(events=[tagged("opened"), tagged("credited")])
        with pytest.raises(UnmetWriteConditionError) as failure:
            store.publish(
                writes=[
                    b.write(events=[tagged("opened")], conditions={stream_is_empty()}),
                    a.write(events=[tagged("debited")], conditions={position_is(0)}),
                ]
            )
        assert (failure.value.category, failure.value.stream) == ("accounts", "a")
        assert failure.value.last_position == 1
        assert b.read() == [] and len(a.read()) == 2

    def test_no_event_matches_holds_until_a_matching_event_is_stored_after(
        self, store: EventStore
    ) -> None:
        users = store.category(category="users")
        taken = Query.of(names=["name-claimed"], tags=["name:ada"])
        claim = users.stream(stream="u1").write(events=[tagged("name-claimed", "name:ada")])
        first = store.publish(writes=[claim], conditions={no_event_matches(taken)})[0]

        with pytest.raises(UnmetWriteConditionError) as failure:
            store.publish(
                writes=[
                    users.stream(stream="u2").write(events=[tagged("name-claimed", "name:ada")])
                ],
                conditions={no_event_matches(taken)},
            )
        assert failure.value.first_match_sequence_number == first.sequence_number
        assert (failure.value.category, failure.value.stream) == (None, None)

        # After the event it saw, the same query holds again for a decision made since.
        again = store.query(query=taken).unchanged_after(first.sequence_number)
        stored = users.stream(stream="u3").publish(events=[tagged("renamed")], conditions={again})
        assert stored[0].name == "renamed"
        assert [e.stream for e in store.query(query=taken)] == ["u1"]

    def test_conditions_combine_with_and_and_or(self, store: EventStore) -> None:
        stream = store.stream(category="courses", stream="c1")
        stream.publish(events=[tagged("course-defined", "course:c1")])
        full = no_event_matches(Query.of(names=["course-full"], tags=["course:c1"]))
        defined = no_event_matches(Query.of(names=["course-defined"], tags=["course:c1"]))

        stored = stream.publish(events=[tagged("a")], conditions={full & position_is(0)})
        assert stored[0].position == 1
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=[tagged("b")], conditions={full & defined})
        stored = stream.publish(events=[tagged("c")], conditions={defined | position_is(1)})
        assert stored[0].position == 2
        with pytest.raises(UnmetWriteConditionError):
            stream.publish(events=[tagged("d")], conditions={defined | stream_is_empty()})
        assert [e.name for e in stream.read()] == ["course-defined", "a", "c"]

    def test_one_query_condition_admits_one_of_racing_writers(self, store: EventStore) -> None:
        name = unique("name")
        taken = Query.of(tags=[f"username:{name}"])
        winners: list[str] = []

        def claim(index: int) -> None:
            stream = store.stream(category="users", stream=f"u{index}")
            try:
                store.publish(
                    writes=[stream.write(events=[tagged("claimed", f"username:{name}")])],
                    conditions={no_event_matches(taken)},
                )
                winners.append(stream.stream)
            except UnmetWriteConditionError:
                pass

        run_threads(8, claim)
        assert len(winners) == 1
        assert [e.stream for e in store.query(query=taken)] == winners

    def test_a_retried_multi_stream_publish_stores_its_events_once(self, store: EventStore) -> None:
        a = store.stream(category="accounts", stream="a")
        b = store.stream(category="accounts", stream="b")
        writes = [
            a.write(
                events=[tagged("debited", "t:1", id=unique("id"))], conditions={stream_is_empty()}
            ),
            b.write(
                events=[tagged("credited", "t:1", id=unique("id"))], conditions={stream_is_empty()}
            ),
        ]
        first = store.publish(writes=writes)
        again = store.publish(writes=writes)
        assert list(again) == list(first)
        assert len(store.log().read()) == 2

    def test_bad_multi_stream_input_names_the_field_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        a = store.stream(category="accounts", stream="a")
        cases = [
            (
                [a.write(events=[tagged("x")]), a.write(events=[tagged("y")])],
                set(),
                "writes[1].stream",
            ),
            (
                [store.stream(category="b", stream="b").write(events=[tagged("x", "")])],
                set(),
                "writes[0].events[0].tags[0]",
            ),
            ([a.write(events=[tagged("x")])], {position_is(3)}, "conditions[0]"),
            (
                [a.write(events=[tagged("x")])],
                {no_event_matches(Query(items=[QueryItem(stream="s")]))},
                "conditions[0].no_event_matches.query.items[0].stream",
            ),
        ]
        for writes, conditions, field in cases:
            with pytest.raises(InvalidInputError) as failure:
                store.publish(writes=writes, conditions=conditions)
            assert failure.value.field == field
        assert store.log().read() == []


_NAMES = ("a", "b")
_TAGS = ("t1", "t2")

# A publish: parts (category, stream, events as (name, tags), stream condition kind) and
# the publish's query condition (None, or item fields and how many events before the
# head its decision was made: near the head is where an off-by-one would show).
_event = st.tuples(st.sampled_from(_NAMES), st.frozensets(st.sampled_from(_TAGS)))
_part = st.tuples(
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["s1", "s2"]),
    st.lists(_event, min_size=1, max_size=2),
    st.sampled_from(["none", "empty", "right", "wrong"]),
)
_query = st.tuples(
    st.sampled_from([None, "c1", "c2"]),
    st.frozensets(st.sampled_from(_NAMES)),
    st.frozensets(st.sampled_from(_TAGS)),
    st.integers(min_value=0, max_value=3),
)
_publishes = st.lists(
    st.tuples(st.lists(_part, min_size=1, max_size=3), st.none() | _query), max_size=8
)


class ConsistencyModelContract(AdapterFixtures):
    """Random multi-stream publishes with random stream and query conditions, decided as
    the reference model decides. Part of ``StorageAdapterContract``."""

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(publishes=_publishes)
    def test_random_multi_stream_publishes_match_the_model(
        self, store: EventStore, publishes: list[tuple[list[Any], Any]]
    ) -> None:
        # The store is shared by the examples: each works under fresh categories and
        # counts sequence numbers from the head it started at.
        prefix = unique("m")
        start = max((e.sequence_number for e in store.log()), default=-1)
        model = PublishModel(start=start)
        for parts, query in publishes:
            writes: list[ModelWrite] = []
            for category, stream, events, kind in parts:
                key = (f"{prefix}-{category}", stream)
                if any((w.category, w.stream) == key for w in writes):
                    continue  # a stream is written once per publish
                last = model.last_position(*key)
                condition = {
                    "none": None,
                    "empty": stream_is_empty(),
                    "right": stream_is_empty() if last is None else position_is(last),
                    "wrong": position_is((last or 0) + 2),
                }[kind]
                writes.append(
                    ModelWrite(*key, events, frozenset() if condition is None else {condition})
                )
            conditions: set[WriteCondition] = set()
            if query is not None:
                category, names, tags, back = query
                selects = Query.of(
                    category=None if category is None else f"{prefix}-{category}",
                    names=names,
                    tags=tags,
                )
                if category is None and not names and not tags:
                    selects = Query.of(category=f"{prefix}-c1")
                after = max(start + len(model.events) - back, start)
                conditions.add(no_event_matches(selects, after_sequence_number=after))
            request = [
                store.stream(category=w.category, stream=w.stream).write(
                    events=[NewEvent(name=n, payload={}, tags=t) for n, t in w.events],
                    conditions=w.conditions,
                )
                for w in writes
            ]
            if model.publish(writes, conditions):
                store.publish(writes=request, conditions=conditions)
            else:
                with pytest.raises(UnmetWriteConditionError):
                    store.publish(writes=request, conditions=conditions)

        stored = store.log().read(after_sequence_number=start)
        assert [ModelEvent.of(e) for e in stored] == model.events
