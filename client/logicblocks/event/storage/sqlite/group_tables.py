"""The consumer groups' tables in the SQLite file (schema version 4), and their rows.

Four tables beside the events: ``consumer_groups`` (each group's definition and
generation), ``group_members`` (each live member and when it is counted gone),
``group_partitions`` (per partition: its lease, and its progress once saved; a NULL
``checkpoint`` means none saved yet, so the group's ``start_after`` applies) and
``group_parked`` (parked events). Definitions, done sets and attempts are JSON text
(``storage.group_columns``), shared with PostgreSQL; instants are microseconds and lease
times REAL seconds, as the caller gives them.
"""

import sqlite3
from typing import Any

from logicblocks.event.store.groups import ParkedEvent

from .times import from_microseconds, to_microseconds

__all__ = [
    "DEFINITION",
    "PARKED",
    "add_group_tables",
    "parked_from_row",
    "parked_row",
]

# Names avoid GROUPS and PARTITION, which are keywords of SQLite's window functions.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS consumer_groups (name TEXT NOT NULL PRIMARY KEY,"
    " target TEXT NOT NULL, start TEXT NOT NULL, start_after INTEGER NOT NULL,"
    " settings TEXT NOT NULL, generation INTEGER NOT NULL) STRICT, WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS group_members (group_name TEXT NOT NULL,"
    " member TEXT NOT NULL, expires_at REAL NOT NULL,"
    " PRIMARY KEY (group_name, member)) STRICT, WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS group_partitions (group_name TEXT NOT NULL,"
    " partition_number INTEGER NOT NULL, owner TEXT, lease_until REAL,"
    " checkpoint INTEGER, done TEXT, attempts TEXT,"
    " PRIMARY KEY (group_name, partition_number)) STRICT, WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS group_parked (group_name TEXT NOT NULL,"
    " sequence_number INTEGER NOT NULL, event_id TEXT NOT NULL, category TEXT NOT NULL,"
    " stream TEXT NOT NULL, position INTEGER NOT NULL, partition_number INTEGER NOT NULL,"
    " reason TEXT NOT NULL, attempts INTEGER NOT NULL, parked_at INTEGER NOT NULL,"
    " replaying INTEGER NOT NULL, PRIMARY KEY (group_name, sequence_number))"
    " STRICT, WITHOUT ROWID",
)

DEFINITION = "name, target, start, start_after, settings, generation"
"""The columns of ``consumer_groups`` that ``definition_from_columns`` takes, in order."""

PARKED = (
    "sequence_number, event_id, category, stream, position, partition_number, reason,"
    " attempts, parked_at, replaying"
)
"""The columns of ``group_parked`` that ``parked_from_row`` takes, in order."""


def add_group_tables(connection: sqlite3.Connection) -> None:
    """Schema version 4 (inside the migration's transaction): the group tables, empty.

    ``IF NOT EXISTS``: a file whose recorded version was set back by hand migrates too.
    """
    for statement in _SCHEMA:
        connection.execute(statement)


def parked_row(group: str, event: ParkedEvent) -> tuple[Any, ...]:
    """The values of a ``group_parked`` row: the group's name, then ``PARKED``."""
    return (
        group,
        event.sequence_number,
        event.event_id,
        event.category,
        event.stream,
        event.position,
        event.partition,
        event.reason,
        event.attempts,
        to_microseconds(event.parked_at),
        int(event.replaying),
    )


def parked_from_row(row: tuple[Any, ...]) -> ParkedEvent:
    """The parked event a row of ``PARKED`` holds."""
    return ParkedEvent(
        sequence_number=row[0],
        event_id=row[1],
        category=row[2],
        stream=row[3],
        position=row[4],
        partition=row[5],
        reason=row[6],
        attempts=row[7],
        parked_at=from_microseconds(row[8]),
        replaying=bool(row[9]),
    )
