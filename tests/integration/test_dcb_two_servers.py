"""The DCB specification's examples (dcb.events), through two servers on one PostgreSQL
database with concurrent writers spread over both.

Each writer decides the way DCB prescribes: read the events a query selects, decide from
them, publish with the condition that no event matching the query was stored after the
last one read; on a conflict, read again and decide again. The invariants are checked on
the final log, so a condition judged on a stale view anywhere would show as a broken rule.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logicblocks.event.store import (
    EventStore,
    StreamWrite,
    UnmetWriteConditionError,
    WriteCondition,
    no_event_matches,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.testing.contract.sample_events import run_threads, unique
from logicblocks.event.testing.publish_model import ModelEvent, ModelWrite, PublishModel
from logicblocks.event.types import NewEvent, StoredEvent
from logicblocks.event.types.query import Query
from tests.support.postgres import PostgresCluster
from tests.support.server_process import COMMAND, ServerProcess

WRITERS = 8


@pytest.fixture(scope="module")
def stores(postgres_cluster: PostgresCluster) -> Iterator[list[EventStore]]:
    """Two stores, each a client of its own server; both servers on one database."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres_cluster.fresh_database("dcb"))
        serve = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", url]
        servers = [stack.enter_context(ServerProcess(serve)) for _ in range(2)]
        yield [
            EventStore(stack.enter_context(GrpcStorageAdapter(target=server.target)))
            for server in servers
        ]


def decide(
    store: EventStore,
    query: Query,
    make: Callable[[list[StoredEvent]], list[StreamWrite] | None],
) -> bool:
    """Read ``query``, let ``make`` decide, publish on the condition that nothing it read
    changed; on a conflict start again. ``False`` when ``make`` declines."""
    while True:
        seen = store.query(query=query).read()
        writes = make(list(seen))
        if writes is None:
            return False
        after = seen[-1].sequence_number if seen else None
        try:
            store.publish(
                writes=writes, conditions={no_event_matches(query, after_sequence_number=after)}
            )
            return True
        except UnmetWriteConditionError:
            continue


def event(kind: str, *tags: str, **payload: object) -> NewEvent:
    return NewEvent(name=kind, payload=payload, tags=tags)


def test_a_course_is_never_over_capacity_nor_a_student_over_their_limit(
    stores: list[EventStore],
) -> None:
    run = unique("run")
    courses, capacity, students, limit = 3, 4, 12, 2
    for number in range(courses):
        course = f"{run}-c{number}"
        stores[0].stream(category="courses", stream=course).publish(
            events=[event("course-defined", f"course:{course}", capacity=capacity)]
        )

    def subscribe(store: EventStore, student: str, course: str) -> bool:
        query = Query.of(
            names=["course-defined", "student-subscribed"], tags=[f"course:{course}"]
        ) | Query.of(names=["student-subscribed"], tags=[f"student:{student}"])

        def make(seen: list[StoredEvent]) -> list[StreamWrite] | None:
            of_course = [e for e in seen if f"course:{course}" in e.tags]
            taken = sum(1 for e in of_course if e.name == "student-subscribed")
            defined = next(e for e in of_course if e.name == "course-defined")
            mine = [e for e in seen if f"student:{student}" in e.tags]
            if taken >= defined.payload["capacity"] or len(mine) >= limit:
                return None
            tags = (f"course:{course}", f"student:{student}")
            return [
                store.stream(category="students", stream=student).write(
                    events=[event("student-subscribed", *tags, course=course)]
                )
            ]

        return decide(store, query, make)

    def work(index: int) -> None:
        store = stores[index % 2]
        for student_number in range(index, students, WRITERS):
            student = f"{run}-s{student_number}"
            for course_number in range(courses):
                subscribe(store, student, f"{run}-c{(student_number + course_number) % courses}")

    run_threads(WRITERS, work)
    subscriptions = [
        e
        for e in stores[1].category(category="students").read()
        if e.name == "student-subscribed" and e.stream.startswith(run)
    ]
    per_course = Counter(e.payload["course"] for e in subscriptions)
    per_student = Counter(e.stream for e in subscriptions)
    # 12 students wanting 2 courses each is 24 wishes for 12 places: every course fills.
    assert per_course == {f"{run}-c{n}": capacity for n in range(courses)}
    assert max(per_student.values()) <= limit


def test_a_user_name_is_never_taken_twice(stores: list[EventStore]) -> None:
    run = unique("run")
    names = [f"{run}-name{n}" for n in range(5)]
    claims: list[tuple[str, str]] = []

    def work(index: int) -> None:
        store = stores[index % 2]
        user = f"{run}-u{index}"
        for name in names:
            query = Query.of(names=["user-registered"], tags=[f"username:{name}"])

            def make(seen: list[StoredEvent], name: str = name) -> list[StreamWrite] | None:
                if seen:
                    return None
                registration = event("user-registered", f"username:{name}", name=name)
                return [store.stream(category="users", stream=user).write(events=[registration])]

            if decide(store, query, make):
                claims.append((name, user))

    run_threads(WRITERS, work)
    stored = [
        e.payload["name"]
        for e in stores[0].category(category="users").read()
        if e.stream.startswith(run)
    ]
    assert sorted(stored) == names
    assert sorted(name for name, _ in claims) == names


def test_invoice_numbers_have_no_gap_and_no_repeat(stores: list[EventStore]) -> None:
    run = unique("run")
    query = Query.of(names=["invoice-created"], tags=[f"invoices:{run}"])
    per_writer = 6

    def work(index: int) -> None:
        store = stores[index % 2]
        for _ in range(per_writer):

            def make(seen: list[StoredEvent]) -> list[StreamWrite]:
                number = int(seen[-1].payload["number"]) + 1 if seen else 1
                created = event("invoice-created", f"invoices:{run}", number=number)
                stream = store.stream(category="invoices", stream=f"{run}-{number}")
                return [stream.write(events=[created])]

            decide(store, query, make)

    run_threads(WRITERS, work)
    numbers = [e.payload["number"] for e in stores[1].query(query=query).read()]
    assert numbers == list(range(1, WRITERS * per_writer + 1))


_event = st.tuples(st.sampled_from(["a", "b"]), st.frozensets(st.sampled_from(["t1", "t2"])))
_part = st.tuples(
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["s1", "s2", "s3"]),
    st.lists(_event, min_size=1, max_size=2),
    st.sampled_from(["none", "empty", "as-read"]),
)
_query = st.tuples(
    st.sampled_from(["c1", "c2"]),
    st.frozensets(st.sampled_from(["a", "b"])),
    st.frozensets(st.sampled_from(["t1", "t2"])),
)
_publish = st.tuples(st.lists(_part, min_size=1, max_size=3), st.none() | _query)
Outcome = tuple[list[ModelWrite], set[WriteCondition], list[StoredEvent] | None]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plans=st.lists(st.lists(_publish, min_size=1, max_size=4), min_size=4, max_size=4))
def test_concurrent_random_publishes_serialize_as_the_model_decides(
    stores: list[EventStore], plans: list[list[tuple[list[Any], Any]]]
) -> None:
    # Writers race random multi-stream publishes, deciding their conditions from what they
    # read. Afterwards the log must be the committed publishes back to back, in sequence
    # order, each of which the model admits where it landed; and each refusal must have
    # been right at some point between those publishes.
    prefix = unique("m")
    start = max((e.sequence_number for e in stores[0].log()), default=-1)
    outcomes: list[Outcome] = []

    def work(index: int) -> None:
        store = stores[index % 2]
        for parts, query in plans[index]:
            writes, conditions = _plan(store, prefix, parts, query)
            request = [
                store.stream(category=w.category, stream=w.stream).write(
                    events=[NewEvent(name=n, payload={}, tags=t) for n, t in w.events],
                    conditions=w.conditions,
                )
                for w in writes
            ]
            try:
                stored = list(store.publish(writes=request, conditions=conditions))
            except UnmetWriteConditionError:
                outcomes.append((writes, conditions, None))
            else:
                outcomes.append((writes, conditions, stored))

    run_threads(len(plans), work)
    log = stores[1].log().read(after_sequence_number=start)
    committed = sorted(
        ((w, c, s) for w, c, s in outcomes if s is not None), key=lambda o: o[2][0].sequence_number
    )
    assert [e for _, _, stored in committed for e in stored] == list(log)

    model = PublishModel(start=start)
    states = [PublishModel(start=start)]
    for writes, conditions, _ in committed:
        assert model.admits(writes, conditions)
        model.publish(writes, conditions)
        states.append(PublishModel(start=start, events=model.events))
    assert model.events == [ModelEvent.of(e) for e in log]
    for writes, conditions, stored in outcomes:
        if stored is None:
            assert any(not state.admits(writes, conditions) for state in states)


def _plan(
    store: EventStore, prefix: str, parts: list[Any], query: Any
) -> tuple[list[ModelWrite], set[WriteCondition]]:
    writes: list[ModelWrite] = []
    for category, stream, events, kind in parts:
        key = (f"{prefix}-{category}", stream)
        if any((w.category, w.stream) == key for w in writes):
            continue
        condition: WriteCondition | None = None
        if kind == "empty":
            condition = stream_is_empty()
        elif kind == "as-read":
            seen = store.stream(category=key[0], stream=key[1]).read()
            condition = position_is(seen[-1].position) if seen else stream_is_empty()
        writes.append(ModelWrite(*key, events, frozenset() if condition is None else {condition}))
    conditions: set[WriteCondition] = set()
    if query is not None:
        category, names, tags = query
        selects = Query.of(category=f"{prefix}-{category}", names=names, tags=tags)
        seen = store.query(query=selects).read()
        after = seen[-1].sequence_number if seen else None
        conditions.add(no_event_matches(selects, after_sequence_number=after))
    return writes, conditions
