"""A publish inside the SQLite write transaction: retries, conditions, numbering, inserts.

The adapter holds the write lock and the transaction (``BEGIN IMMEDIATE``) around
``write_publish``, so everything here reads and writes the store as one writer sees it.
"""

import sqlite3
from collections.abc import Sequence, Set

from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.publishing import (
    PendingWrite,
    check_publish,
    number_writes,
    resolve_retry_writes,
)
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from . import queries, streams
from .rows import COLUMNS, insert_records, record

__all__ = ["WriteState", "write_publish"]

# Ids looked up per statement, well under SQLite's bound-parameter limit.
ID_LOOKUP_CHUNK = 500


class WriteState:
    """The ``ConditionState`` of the store inside a write transaction, before its inserts:
    each answer one lookup in an index."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        # Conditions and numbering both ask for a stream's last position: look it up once.
        self._positions: dict[tuple[str, str], int | None] = {}

    def last_position(self, target: identifier.Stream) -> int | None:
        """The position of the stream's last event, from the streams table."""
        key = (target.category, target.stream)
        if key not in self._positions:
            self._positions[key] = streams.last_position(self._connection, *key)
        return self._positions[key]

    def first_match(self, query: Query, after: int) -> int | None:
        """The first event matching ``query`` after ``after``, from the query indexes."""
        return queries.first_match(self._connection, query, after)


def write_publish(
    connection: sqlite3.Connection,
    writes: Sequence[PendingWrite],
    conditions: Set[WriteCondition],
) -> tuple[Sequence[EventRecord], int]:
    """Resolve retries, judge the conditions, number and insert the publish.

    Returns the publish's records and how many of them this call wrote (0 for a retry).
    """
    retried = resolve_retry_writes(writes, _stored_ids(connection, writes))
    if retried is not None:
        return retried, 0

    state = WriteState(connection)
    check_publish(writes, conditions, state)
    if not any(write.events for write in writes):
        return [], 0

    head: int = connection.execute(
        "SELECT coalesce(max(sequence_number), ?) FROM events", (NO_EVENTS,)
    ).fetchone()[0]
    records = number_writes(writes, state, head=head)
    insert_records(connection, records)
    last_of_stream = {(record.category, record.stream): record for record in records}
    for last in last_of_stream.values():
        streams.record_last_event(connection, last)
    return records, len(records)


def _stored_ids(
    connection: sqlite3.Connection, writes: Sequence[PendingWrite]
) -> dict[str, EventRecord]:
    """The stored events, in any stream, whose ids this publish uses.

    Only client-chosen ids can repeat: generated ones are fresh UUIDs.
    """
    chosen = [event.id for write in writes for event in write.events if event.id_chosen_by_client]
    stored: dict[str, EventRecord] = {}
    for start in range(0, len(chosen), ID_LOOKUP_CHUNK):
        chunk = chosen[start : start + ID_LOOKUP_CHUNK]
        rows = connection.execute(
            f"SELECT {COLUMNS} FROM events WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        for row in rows:
            found = record(row)
            stored[found.id] = found
    return stored
