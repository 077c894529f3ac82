"""The streams table: each stream's last event, kept in the publish's own transaction.

It answers the listings and the summary without reading the log, and gives a publish its
stream's last position with one primary-key lookup. Schema version 2 added it; stores
written before it are filled from their events when they migrate.
"""

import sqlite3
from collections.abc import Sequence

from logicblocks.event.store.listing import (
    CategorySummary,
    StoreSummary,
    StreamSummary,
    prefix_upper_bound,
)
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS

from .times import from_microseconds, to_microseconds

__all__ = [
    "add_streams_table",
    "last_position",
    "list_categories",
    "list_streams",
    "record_last_event",
    "summary",
]

# BINARY collation compares UTF-8 bytes: code point order, as every engine lists names.
_CREATE = """
CREATE TABLE streams (
    category TEXT NOT NULL,
    stream TEXT NOT NULL,
    last_position INTEGER NOT NULL,
    last_sequence_number INTEGER NOT NULL,
    last_observed_at INTEGER NOT NULL,
    PRIMARY KEY (category, stream)
) STRICT, WITHOUT ROWID
"""

# Each stream's last event, found through the (category, stream, position) unique index.
_FILL = """
INSERT INTO streams (category, stream, last_position, last_sequence_number, last_observed_at)
SELECT e.category, e.stream, e.position, e.sequence_number, e.observed_at
FROM events AS e
JOIN (SELECT category, stream, max(position) AS position FROM events GROUP BY category, stream)
    AS last USING (category, stream, position)
"""

_UPSERT = """
INSERT INTO streams (category, stream, last_position, last_sequence_number, last_observed_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (category, stream) DO UPDATE SET
    last_position = excluded.last_position,
    last_sequence_number = excluded.last_sequence_number,
    last_observed_at = excluded.last_observed_at
"""

_STREAM_COLUMNS = "category, stream, last_position, last_sequence_number, last_observed_at"


def add_streams_table(connection: sqlite3.Connection) -> None:
    """Schema version 2: create the table and fill it from the events already stored."""
    connection.execute(_CREATE)
    connection.execute(_FILL)


def last_position(connection: sqlite3.Connection, category: str, stream: str) -> int | None:
    """The stream's last position, ``None`` when it has no events."""
    row = connection.execute(
        "SELECT last_position FROM streams WHERE category = ? AND stream = ?",
        (category, stream),
    ).fetchone()
    return None if row is None else int(row[0])


def record_last_event(connection: sqlite3.Connection, last: EventRecord) -> None:
    """Make ``last`` its stream's last event (inside the publish's transaction)."""
    connection.execute(
        _UPSERT,
        (
            last.category,
            last.stream,
            last.position,
            last.sequence_number,
            to_microseconds(last.observed_at),
        ),
    )


def list_categories(
    connection: sqlite3.Connection, after: str | None, limit: int
) -> Sequence[CategorySummary]:
    """See ``RecordStorageAdapter.list_categories``."""
    # Names are never empty, so '' is before every one.
    rows = connection.execute(
        "SELECT category, count(*), sum(last_position + 1), max(last_sequence_number)"
        " FROM streams WHERE category > ? GROUP BY category ORDER BY category LIMIT ?",
        (after or "", limit),
    ).fetchall()
    return [CategorySummary(*row) for row in rows]


def list_streams(
    connection: sqlite3.Connection, category: str, prefix: str, after: str | None, limit: int
) -> Sequence[StreamSummary]:
    """See ``RecordStorageAdapter.list_streams``."""
    bound = prefix_upper_bound(prefix)
    below = "" if bound is None else " AND stream < ?"
    rows = connection.execute(
        f"SELECT {_STREAM_COLUMNS} FROM streams"
        f" WHERE category = ? AND stream > ? AND stream >= ?{below} ORDER BY stream LIMIT ?",
        (category, after or "", prefix, *(() if bound is None else (bound,)), limit),
    ).fetchall()
    return [
        StreamSummary(
            category=row[0],
            stream=row[1],
            last_position=row[2],
            last_sequence_number=row[3],
            last_observed_at=from_microseconds(row[4]),
        )
        for row in rows
    ]


def summary(connection: sqlite3.Connection) -> StoreSummary:
    """See ``RecordStorageAdapter.summary``; one statement, so one snapshot."""
    head, categories, streams = connection.execute(
        "SELECT (SELECT coalesce(max(sequence_number), ?) FROM events),"
        " (SELECT count(DISTINCT category) FROM streams), (SELECT count(*) FROM streams)",
        (NO_EVENTS,),
    ).fetchone()
    return StoreSummary(storage="sqlite", head=head, categories=categories, streams=streams)
