"""SQLite answers queries from its indexes, and its answers are the query's own.

The plans are SQLite's own account (EXPLAIN QUERY PLAN) of how it reads a page: through
the tags table, the index of names, a category's or a stream's index, never by scanning
the log. The answers are checked against ``Query.matches`` over the whole log, including
a query with more names than the engine gives branches of their own.
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from logicblocks.event.storage.sqlite import SqliteStorageAdapter
from logicblocks.event.storage.sqlite.queries import MAX_BRANCHES, page_statement
from logicblocks.event.storage.sqlite.writing import WriteState
from logicblocks.event.store import EventStore
from logicblocks.event.types import NewEvent
from logicblocks.event.types.query import Query, QueryItem

_QUERIES = [
    Query.of(tags=["t0"]),
    Query.of(tags=["t0", "t1"], category="c1", names=["n0", "n2"]),
    Query.of(category="c1", stream="s1", names=["n1"]),
    Query.of(category="c2", stream="s0", tags=["t1"]),
    Query.of(category="c0", names=["n0", "n1"]),
    Query.of(names=["n2"]),
    Query.of(category="c2"),
    Query(items=[QueryItem(tags=["t1"]), QueryItem(category="c0", names=["n2"])]),
    Query(items=[QueryItem(names=["n1"]), QueryItem(names=["n1"]), QueryItem(tags=["t2"])]),
    # More names than branches: they share one.
    Query(items=[QueryItem(names=[f"x{i}" for i in range(MAX_BRANCHES)] + ["n0"])]),
    # More tags than SQLite joins tables.
    Query.of(tags=[f"t{i}" for i in range(70)]),
    Query.of(category="c0", tags=["t1", "t2", "t3"]),
    Query(items=[QueryItem(category="c1"), QueryItem()]),  # the second matches everything
]


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[SqliteStorageAdapter]:
    adapter = SqliteStorageAdapter(path=tmp_path / "events.db")
    store = EventStore(adapter)
    for index in range(60):
        store.stream(category=f"c{index % 3}", stream=f"s{index % 4}").publish(
            events=[
                NewEvent(
                    name=f"n{index % 5}",
                    payload={"i": index},
                    tags=[f"t{tag}" for tag in range(index % 4)],
                )
            ]
        )
    yield adapter
    adapter.close()


def test_a_query_page_reads_through_indexes_never_the_log(adapter: SqliteStorageAdapter) -> None:
    connection = sqlite3.connect(adapter.path)
    for query in _QUERIES:
        statement = page_statement(query)
        plan = [
            row[3]
            for row in connection.execute(
                f"EXPLAIN QUERY PLAN {statement.sql}",
                statement.bind(after=-1, bound=100, limit=10),
            )
        ]
        scans = [step for step in plan if step.startswith(("SCAN events", "SCAN e", "SCAN t"))]
        assert scans == [], (query, plan)
    connection.close()


def test_query_reads_and_first_matches_are_the_querys_own(
    adapter: SqliteStorageAdapter,
) -> None:
    log = list(adapter.read_records())
    # The state a publish judges its conditions in, on a connection of its own.
    connection = sqlite3.connect(adapter.path)
    state = WriteState(connection)
    for query in _QUERIES:
        expected = [
            record.sequence_number
            for record in log
            if query.matches(
                category=record.category, stream=record.stream, name=record.name, tags=record.tags
            )
        ]
        read = [record.sequence_number for record in adapter.read_records(target=query)]
        assert read == expected, query
        later = [
            record.sequence_number
            for record in adapter.read_records(target=query, after_sequence_number=30, limit=3)
        ]
        assert later == [number for number in expected if number > 30][:3], query
        budgeted = list(adapter.read_records(target=query, max_bytes=50))
        assert [record.sequence_number for record in budgeted] == expected[: len(budgeted)]
        assert budgeted or not expected
        for after in (-1, 25, 59):
            first = next((number for number in expected if number > after), None)
            assert state.first_match(query, after) == first, (query, after)
    connection.close()
