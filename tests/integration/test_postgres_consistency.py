"""PostgreSQL's part of issue 13: old tables migrate in place, queries are answered from
indexes (PostgreSQL's own plans say so) and agree with ``Query.matches``, and a group
commit judges query conditions against the publishes queued before them in its group."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql

from logicblocks.event.storage.postgres.queries import Queries
from logicblocks.event.store import (
    EventStore,
    UnmetWriteConditionError,
    no_event_matches,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.types import NewEvent, StoredEvent
from logicblocks.event.types.query import Query, QueryItem
from tests.integration.test_postgres_adapter import queue_behind_a_held_lock
from tests.support.postgres import PostgresCluster


@pytest.fixture
def table() -> TableParameters:
    return TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")


@pytest.fixture
def adapter(postgres_url: str, table: TableParameters) -> Iterator[PostgresStorageAdapter]:
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(postgres_url), table_parameters=table
    ) as adapter:
        yield adapter


def _to_version_2(postgres_url: str, table: TableParameters) -> None:
    """Take ``table`` back to schema version 2, as a release before issue 13 left it."""
    events = sql.Identifier(table.events_table_name)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("ALTER TABLE {} DROP COLUMN tags, DROP COLUMN metadata").format(events)
        )
        connection.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table.tags_table_name)))
        for suffix in ("name_idx", "observed_at_idx"):
            connection.execute(
                sql.SQL("DROP INDEX {}").format(
                    sql.Identifier(f"{table.events_table_name}_{suffix}")
                )
            )
        connection.execute(
            sql.SQL("DELETE FROM {} WHERE version > 2").format(
                sql.Identifier(table.schema_version_table_name)
            )
        )


def test_a_table_written_before_tags_reads_the_same_after_migrating(
    postgres_url: str, table: TableParameters
) -> None:
    connection_parameters = ConnectionParameters.from_url(postgres_url)
    with PostgresStorageAdapter(
        connection_source=connection_parameters, table_parameters=table
    ) as old:
        store = EventStore(old)
        for index in range(12):
            store.stream(category=f"c{index % 2}", stream=f"s{index % 3}").publish(
                events=[NewEvent(name=f"n{index % 4}", payload={"i": index, "x": 1e300})]
            )
        before = list(store.log())
    _to_version_2(postgres_url, table)

    with PostgresStorageAdapter(
        connection_source=connection_parameters, table_parameters=table
    ) as migrated:
        store = EventStore(migrated)
        after = list(store.log())
        assert after == before
        assert all(event.tags == frozenset() and event.metadata == {} for event in after)
        # Old events answer queries by name and category; new ones carry tags and metadata.
        assert [e.sequence_number for e in store.query(query=Query.of(names=["n1"])).scan()] == [
            1,
            5,
            9,
        ]
        stored = store.stream(category="c0", stream="s0").publish(
            events=[NewEvent(name="n9", payload={}, tags=["t"], metadata={"trace": "a"})],
            conditions={no_event_matches(Query.of(tags=["t"]))},
        )
        read = list(store.query(query=Query.of(tags=["t"])).scan())
        assert read == list(stored)
        assert (read[0].tags, read[0].metadata) == (frozenset({"t"}), {"trace": "a"})
        assert migrated.after_sequence_number_since(datetime(2000, 1, 1, tzinfo=UTC)) == -1
    versions = postgres_rows(
        postgres_url,
        sql.SQL("SELECT version FROM {} ORDER BY version").format(
            sql.Identifier(table.schema_version_table_name)
        ),
    )
    assert versions == [(1,), (2,), (3,), (4,)]


def postgres_rows(postgres_url: str, query: sql.Composed) -> list[tuple[object, ...]]:
    with psycopg.connect(postgres_url) as connection:
        rows: list[tuple[object, ...]] = connection.execute(query).fetchall()
        return rows


_EVENTS = 50_000

# Tags by sequence number: none, t0, t0 t1, t0 t1 t2 in turn, and "r" on every 1000th.
_TAGS = (
    'CASE WHEN g %% 1000 = 0 THEN \'["r","t0"]\' WHEN g %% 4 = 0 THEN NULL'
    ' WHEN g %% 4 = 1 THEN \'["t0"]\' WHEN g %% 4 = 2 THEN \'["t0","t1"]\''
    ' ELSE \'["t0","t1","t2"]\' END'
)

_QUERIES = [
    Query.of(tags=["r"]),
    Query.of(tags=["t0", "t1"], category="c1", names=["n0", "n2"]),
    Query.of(category="c1", stream="s1", names=["n1"]),
    Query.of(category="c2", stream="s0", tags=["r"]),
    Query.of(category="c0", names=["n0", "n1"]),
    Query.of(names=["n2", "n4"]),
    Query.of(names=[f"x{index}" for index in range(12)]),  # more names than walks
    Query.of(category="c2"),
    Query(items=[QueryItem(tags=["r"]), QueryItem(category="c0", names=["n2"])]),
    Query(items=[QueryItem(category="c1"), QueryItem()]),  # the second matches everything
]


def _fill(postgres_url: str, table: TableParameters) -> None:
    """``_EVENTS`` events in the engine's format, written by SQL as bench/consistency.py
    fills its store (a million through a client would take too long)."""
    events = sql.Identifier(table.events_table_name)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL(
                "INSERT INTO {} (sequence_number, id, name, category, stream, position,"
                " payload, observed_at, occurred_at, tags)"
                " SELECT g, 'e-' || g, 'n' || (g %% 5), 'c' || (g %% 3), 's' || (g %% 4),"
                " g / 12, '{{}}'::json, now(), now(), "
                + _TAGS
                + " FROM generate_series(0, %s - 1) AS g"
            ).format(events),
            (_EVENTS,),
        )
        connection.execute(
            sql.SQL(
                "INSERT INTO {} (tag, sequence_number) SELECT tag, sequence_number FROM {},"
                " json_array_elements_text(tags::json) AS tag"
            ).format(sql.Identifier(table.tags_table_name), events)
        )
        connection.execute(
            sql.SQL(
                "INSERT INTO {} (category, stream, last_position, last_sequence_number,"
                " last_observed_at) SELECT category, stream, max(position),"
                " max(sequence_number), max(observed_at) FROM {} GROUP BY 1, 2"
            ).format(sql.Identifier(table.streams_table_name), events)
        )
        for name in (table.events_table_name, table.tags_table_name):
            connection.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))


@pytest.fixture
def filled(
    adapter: PostgresStorageAdapter, postgres_url: str, table: TableParameters
) -> list[StoredEvent]:
    _fill(postgres_url, table)
    return list(EventStore(adapter).log())


def _plan(postgres_url: str, statement: str, parameters: tuple[object, ...]) -> str:
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute("EXPLAIN " + statement, parameters).fetchall()
    return "\n".join(str(row[0]) for row in rows)


def _matching(events: list[StoredEvent], query: Query) -> Callable[[int], list[int]]:
    def after(sequence_number: int) -> list[int]:
        return [
            event.sequence_number
            for event in events
            if event.sequence_number > sequence_number
            and query.matches(
                category=event.category, stream=event.stream, name=event.name, tags=event.tags
            )
        ]

    return after


def test_queries_are_answered_from_indexes_and_agree_with_the_query(
    adapter: PostgresStorageAdapter,
    postgres_url: str,
    table: TableParameters,
    filled: list[StoredEvent],
) -> None:
    queries = Queries(table)
    store = EventStore(adapter)
    for query in _QUERIES:
        for after in (-1, _EVENTS - 100):
            for statement, parameters in (
                queries.page(query, after, -1, 1000),
                queries.budgeted_page(query, after, -1, 1000, 10_000, first=True),
                queries.query_sql.first_matches([(query, after)]),
            ):
                plan = _plan(postgres_url, statement, parameters)
                assert f"Seq Scan on {table.events_table_name}" not in plan, (query, plan)

        expected = _matching(filled, query)
        scope = store.query(query=query)
        assert [e.sequence_number for e in scope.scan()] == expected(-1), query
        middle = _EVENTS // 2 + 7
        assert [e.sequence_number for e in scope.scan(after_sequence_number=middle)] == expected(
            middle
        )
        # The first match after a point is what a failed query condition reports; the
        # position condition after it fails when it holds, so the log stays as filled.
        for after in (-1, middle, _EVENTS - 30):
            condition = no_event_matches(query, after_sequence_number=after) & position_is(9)
            with pytest.raises(UnmetWriteConditionError) as raised:
                store.stream(category="probe", stream="p").publish(
                    events=[NewEvent(name="p", payload={})], conditions={condition}
                )
            first = next(iter(expected(after)), None)
            assert raised.value.first_match_sequence_number == first, (query, after)


def test_a_group_judges_query_conditions_against_the_publishes_before_them(
    adapter: PostgresStorageAdapter,
    postgres_url: str,
    postgres_cluster: PostgresCluster,
    table: TableParameters,
) -> None:
    store = EventStore(adapter)
    store.stream(category="course", stream="c1").publish(
        events=[NewEvent(name="defined", payload={}, tags=["course:c1"])]
    )
    head = 0
    seat = Query.of(names=["enrolled"], tags=["course:c1"])

    def enrol(student: str, conditions: set[WriteCondition]) -> Callable[[], object]:
        return lambda: store.publish(
            writes=[
                store.stream(category="student", stream=student).write(
                    events=[NewEvent(name="enrolled", payload={}, tags=["course:c1", student])],
                    conditions={stream_is_empty()},
                ),
                store.stream(category="course", stream=f"seats-{student}").write(
                    events=[NewEvent(name="seat-taken", payload={}, tags=["course:c1"])]
                ),
            ],
            conditions=conditions,
        )

    # All queued into one group behind a leader: the second enrolment's condition fails
    # on the first's event, which is not in the table yet; the third asks about another
    # course and holds; the fourth's stream condition fails on the first's write.
    results = queue_behind_a_held_lock(
        adapter,
        postgres_url,
        postgres_cluster,
        table,
        [
            enrol("s1", {no_event_matches(seat, after_sequence_number=head)}),
            enrol("s2", {no_event_matches(seat, after_sequence_number=head)}),
            enrol("s3", {no_event_matches(Query.of(tags=["course:c2"]))}),
            lambda: store.stream(category="student", stream="s1").publish(
                events=[NewEvent(name="enrolled", payload={})], conditions={stream_is_empty()}
            ),
        ],
    )
    leader, first, second, other, repeat = results
    assert isinstance(leader, list) and isinstance(first, list) and isinstance(other, list)
    assert [e.sequence_number for e in first] == [2, 3]
    assert isinstance(second, UnmetWriteConditionError)
    assert second.first_match_sequence_number == 2
    assert isinstance(repeat, UnmetWriteConditionError)
    assert [e.sequence_number for e in other] == [4, 5]
    assert [e.sequence_number for e in store.log()] == [0, 1, 2, 3, 4, 5]
