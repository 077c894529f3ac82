"""A SQLite store written before tags and metadata (schema version 2) reads correctly, and
takes tagged events and query conditions, once migrated in place.

The old file is made as version 2 made it: its schema statements as released, and rows
written the way it wrote them (microsecond instants, the streams table kept beside).
"""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from logicblocks.event.store import EventStore, UnmetWriteConditionError
from logicblocks.event.store.adapters import SqliteStorageAdapter
from logicblocks.event.store.conditions import no_event_matches
from logicblocks.event.types import NewEvent
from logicblocks.event.types.query import Query

_VERSION_2 = (
    """CREATE TABLE events (
        sequence_number INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        category TEXT NOT NULL,
        stream TEXT NOT NULL,
        position INTEGER NOT NULL,
        payload TEXT NOT NULL,
        observed_at INTEGER NOT NULL,
        occurred_at INTEGER NOT NULL,
        UNIQUE (category, stream, position)
    ) STRICT""",
    "CREATE INDEX events_by_category ON events (category, sequence_number)",
    "CREATE INDEX events_by_stream ON events (category, stream, sequence_number)",
    """CREATE TABLE streams (
        category TEXT NOT NULL,
        stream TEXT NOT NULL,
        last_position INTEGER NOT NULL,
        last_sequence_number INTEGER NOT NULL,
        last_observed_at INTEGER NOT NULL,
        PRIMARY KEY (category, stream)
    ) STRICT, WITHOUT ROWID""",
    f"PRAGMA application_id = {int.from_bytes(b'LBev', 'big')}",
    "PRAGMA user_version = 2",
)

_START = datetime(2025, 1, 1, tzinfo=UTC)
# (category, stream, position, name), observed a minute apart.
_OLD_EVENTS = [
    ("courses", "c1", 0, "course-defined"),
    ("students", "s1", 0, "student-registered"),
    ("courses", "c1", 1, "course-renamed"),
]


def _microseconds(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _write_version_2_store(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in _VERSION_2:
            connection.execute(statement)
        for number, (category, stream, position, name) in enumerate(_OLD_EVENTS):
            at = _microseconds(_START + timedelta(minutes=number))
            connection.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, f"old-{number}", name, category, stream, position, '{"n":1}', at, at),
            )
            connection.execute(
                "INSERT INTO streams VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " last_position = excluded.last_position,"
                " last_sequence_number = excluded.last_sequence_number,"
                " last_observed_at = excluded.last_observed_at",
                (category, stream, position, number, at),
            )
    finally:
        connection.close()


def test_a_version_2_sqlite_store_reads_and_takes_tags_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    _write_version_2_store(path)

    adapter = SqliteStorageAdapter(path=path)
    try:
        store = EventStore(adapter)
        old = store.log().read()
        assert [(e.id, e.name, e.position, e.payload) for e in old] == [
            ("old-0", "course-defined", 0, {"n": 1}),
            ("old-1", "student-registered", 0, {"n": 1}),
            ("old-2", "course-renamed", 1, {"n": 1}),
        ]
        assert [(e.tags, e.metadata) for e in old] == [(frozenset(), {})] * 3
        assert [(r.tags, r.metadata) for r in adapter.read_records()] == [((), None)] * 3

        # Old events answer queries by name and category, from the indexes built for them.
        renamed = Query.of(category="courses", names=["course-renamed"])
        assert [e.id for e in store.query(query=renamed).read()] == ["old-2"]
        assert store.query(query=Query.of(tags=["course:c1"])).read() == []
        assert [e.id for e in store.log().read(since=_START + timedelta(seconds=30))] == [
            "old-1",
            "old-2",
        ]
        with pytest.raises(UnmetWriteConditionError):
            store.stream(category="courses", stream="c1").publish(
                events=[NewEvent(name="course-closed", payload={})],
                conditions={no_event_matches(renamed, after_sequence_number=1)},
            )

        # New events carry tags and metadata, numbered on from the old ones.
        store.stream(category="courses", stream="c1").publish(
            events=[
                NewEvent(
                    name="course-closed",
                    payload={},
                    tags=["course:c1"],
                    metadata={"correlation": "x"},
                )
            ],
            conditions={no_event_matches(renamed, after_sequence_number=2)},
        )
        [closed] = store.query(query=Query.of(tags=["course:c1"])).read()
        assert (closed.sequence_number, closed.position) == (3, 2)
        assert (closed.tags, closed.metadata) == (frozenset({"course:c1"}), {"correlation": "x"})
    finally:
        adapter.close()

    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 4
    connection.close()
