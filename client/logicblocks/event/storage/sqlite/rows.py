"""How the SQLite engine lays an event out in a row of the events table, and back.

Tags are stored as JSON array text in code point order (as ``PendingEvent.tags`` gives
them), and also one row per tag in the tags table (see ``queries``) that queries read;
metadata is the JSON object text as published. Both are NULL when an event has none, which
is also how events stored before schema version 3 read back.
"""

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from logicblocks.event.store.records import EventRecord, trusted_event_record

from .times import from_microseconds, to_microseconds

__all__ = ["COLUMNS", "EVENT_COLUMNS", "insert_records", "record"]

COLUMNS = (
    "sequence_number, id, name, category, stream, position, payload, observed_at, occurred_at,"
    " tags, metadata"
)
"""The columns ``record`` reads, in its order."""

EVENT_COLUMNS = ", ".join(f"e.{column.strip()}" for column in COLUMNS.split(","))
"""``COLUMNS`` of the events table named ``e`` in a join."""

_NO_TAGS: tuple[str, ...] = ()


def record(row: tuple[Any, ...]) -> EventRecord:
    """The record a row of ``COLUMNS`` holds."""
    tags = row[9]
    return trusted_event_record(
        row[1],
        row[2],
        row[4],
        row[3],
        row[5],
        row[0],
        row[6],
        from_microseconds(row[7]),
        from_microseconds(row[8]),
        _NO_TAGS if tags is None else tuple(json.loads(tags)),
        row[10],
    )


def _tags_text(tags: tuple[str, ...]) -> str | None:
    # Compact, and not escaped to ASCII: the text is the tags, as the other engines store them.
    return json.dumps(tags, ensure_ascii=False, separators=(",", ":")) if tags else None


def insert_records(connection: sqlite3.Connection, records: Sequence[EventRecord]) -> None:
    """Insert ``records`` and their tags' rows (inside the publish's transaction)."""
    # Text SQLite cannot store (lone surrogates) never gets here: records.py rejects it.
    connection.executemany(
        f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                record.sequence_number,
                record.id,
                record.name,
                record.category,
                record.stream,
                record.position,
                record.payload,
                to_microseconds(record.observed_at),
                to_microseconds(record.occurred_at),
                _tags_text(record.tags),
                record.metadata,
            )
            for record in records
        ],
    )
    tag_rows = [(tag, record.sequence_number) for record in records for tag in record.tags]
    if tag_rows:
        connection.executemany("INSERT INTO tags (tag, sequence_number) VALUES (?, ?)", tag_rows)
