"""The SQLite adapter: the embedded, durable default, one file on local disk.

Durability: the database runs in WAL mode with ``synchronous=FULL``, so a publish that
returned has been fsynced to the write-ahead log and survives a ``kill -9`` or a power cut;
a publish interrupted part-way leaves nothing, since each publish is one transaction.

Concurrency: one writer at a time. In this process a lock serialises writers onto one
connection; across processes ``BEGIN IMMEDIATE`` takes SQLite's write lock before the head
and the stream's last event are read, so conditions are checked, sequence numbers and
positions assigned and the events inserted in one transaction. Commit order is therefore
sequence-number order and numbers stay contiguous. Readers borrow their own connections
from a small pool: in WAL mode they read a committed snapshot and never block the writer.
"""

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence, Set
from pathlib import Path
from typing import Any

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition, ensure_conditions
from logicblocks.event.store.exceptions import (
    EventStoreError,
    StorageFullError,
    StorageUnavailableError,
)
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import resolve_retry
from logicblocks.event.store.records import (
    EventRecord,
    PendingEvent,
    number_events,
)
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier

from ..engine import HeadSignal, RecordStorageAdapter, payload_bytes, within_bytes
from . import streams
from .files import open_writer
from .readers import ReaderPool
from .times import from_microseconds, to_microseconds

__all__ = ["SqliteStorageAdapter"]

# How many rows one read page fetches: bounds a scan's memory whatever its size.
READ_PAGE_SIZE = 500
# Ids looked up per statement, well under SQLite's bound-parameter limit.
ID_LOOKUP_CHUNK = 500

_COLUMNS = (
    "sequence_number, id, name, category, stream, position, payload, observed_at, occurred_at"
)


def _record(row: tuple[Any, ...]) -> EventRecord:
    return EventRecord(
        sequence_number=row[0],
        id=row[1],
        name=row[2],
        category=row[3],
        stream=row[4],
        position=row[5],
        payload=row[6],
        observed_at=from_microseconds(row[7]),
        occurred_at=from_microseconds(row[8]),
    )


def _write_error(path: Path, error: sqlite3.OperationalError) -> EventStoreError:
    """What a failed write means to the caller; the transaction is rolled back."""
    if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL:
        # Not "unavailable": retrying at once, as clients do with that, fails the same way.
        return StorageFullError(f"storage full: the disk holding {path} is full ({error})")
    return StorageUnavailableError(f"SQLite write failed: {error}")


class SqliteStorageAdapter(RecordStorageAdapter):
    """Stores events in the SQLite file at ``path``, created (with its folder) if missing.

    Raises ``StorageOpenError`` when the path cannot be created or written, when the file
    is not a SQLite database or not an event store's, or when its schema is newer than
    this code. Safe to share between threads; several processes may open the same file.
    """

    def __init__(self, *, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._closed = False
        self._write_lock = threading.Lock()
        self._head_signal = HeadSignal()
        self._writer = open_writer(self._path)
        self._readers = ReaderPool(self._path)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    # Writing --------------------------------------------------------------------------

    def write_records(
        self,
        *,
        target: identifier.Stream,
        events: Sequence[PendingEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        with self._write_lock:
            if self._closed:
                raise StorageUnavailableError(f"the SQLite event store {self._path} is closed")
            connection = self._writer
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise StorageUnavailableError(f"SQLite write lock: {error}") from error
            try:
                records, written = self._write(connection, target, events, conditions)
                # A retry or an empty publish wrote nothing: its commit costs no sync.
                connection.execute("COMMIT")
            except BaseException as error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.OperationalError):
                    raise _write_error(self._path, error) from error
                raise
        if records:
            # Heads only grow, so a retry's (older) last number changes nothing here.
            self._head_signal.advance(records[-1].sequence_number)
        self._committed(written)
        return records

    def _write(
        self,
        connection: sqlite3.Connection,
        target: identifier.Stream,
        events: Sequence[PendingEvent],
        conditions: Set[WriteCondition],
    ) -> tuple[Sequence[EventRecord], int]:
        """Inside the write transaction: resolve retries, check conditions, insert.

        Returns the publish's records and how many of them this call wrote (0 for a retry).
        """
        retried = resolve_retry(target, events, self._stored_ids(connection, events))
        if retried is not None:
            return retried, 0

        last_position = streams.last_position(connection, target.category, target.stream)
        ensure_conditions(target, conditions, last_position)
        if not events:
            return [], 0

        head: int = connection.execute(
            "SELECT coalesce(max(sequence_number), ?) FROM events", (NO_EVENTS,)
        ).fetchone()[0]
        records = number_events(target, events, last_position=last_position, head=head)
        # Text SQLite cannot store (lone surrogates) never gets here: records.py rejects it.
        connection.executemany(
            f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                )
                for record in records
            ],
        )
        streams.record_last_event(connection, records[-1])
        return records, len(records)

    def _stored_ids(
        self, connection: sqlite3.Connection, events: Sequence[PendingEvent]
    ) -> dict[str, EventRecord]:
        """The stored events, in any stream, whose ids this publish uses.

        Only client-chosen ids can repeat: generated ones are fresh UUIDs.
        """
        chosen = [event.id for event in events if event.id_chosen_by_client]
        stored: dict[str, EventRecord] = {}
        for start in range(0, len(chosen), ID_LOOKUP_CHUNK):
            chunk = chosen[start : start + ID_LOOKUP_CHUNK]
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM events WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            for row in rows:
                record = _record(row)
                stored[record.id] = record
        return stored

    # Reading --------------------------------------------------------------------------

    def read_records(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int = NO_EVENTS,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[EventRecord]:
        # The head when the scan starts bounds it, as the in-memory adapter's snapshot
        # does: numbers are assigned in commit order, so everything up to it is committed
        # and whole, and pages read later neither see half a publish nor run on forever.
        bound = self.head()
        after = after_sequence_number
        if after >= bound or limit == 0:
            return iter(())
        if max_bytes is not None:
            return iter(self._budgeted_page(target, after, bound, limit, max_bytes))
        return self._pages(target, after, bound, limit)

    def _page_query(self, target: Scannable) -> tuple[str, tuple[str, ...]]:
        parameters: tuple[str, ...]
        match target:
            case identifier.Log():
                where, parameters = "", ()
            case identifier.Category(category=category):
                where, parameters = "category = ? AND ", (category,)
            case identifier.Stream(category=category, stream=stream):
                where, parameters = "category = ? AND stream = ? AND ", (category, stream)
        query = (
            f"SELECT {_COLUMNS} FROM events WHERE {where}"
            "sequence_number > ? AND sequence_number <= ? ORDER BY sequence_number LIMIT ?"
        )
        return query, parameters

    def _budgeted_page(
        self, target: Scannable, after: int, bound: int, limit: int | None, max_bytes: int
    ) -> list[EventRecord]:
        # SQLite steps one row at a time, so the rule cuts the page while it is read: the
        # rows after the budget are never loaded.
        query, parameters = self._page_query(target)
        # LIMIT -1: no limit in SQLite; the budget ends the page.
        size = -1 if limit is None else limit
        with self._readers.reader() as connection:
            rows = connection.execute(query, (*parameters, after, bound, size))
            try:
                return list(within_bytes((_record(row) for row in rows), max_bytes, payload_bytes))
            finally:
                rows.close()

    def _pages(
        self, target: Scannable, after: int, bound: int, limit: int | None
    ) -> Iterator[EventRecord]:
        query, parameters = self._page_query(target)
        remaining = limit
        while remaining is None or remaining > 0:
            page_size = READ_PAGE_SIZE if remaining is None else min(READ_PAGE_SIZE, remaining)
            # One short read transaction per page: a slow consumer holds no connection
            # and no snapshot between pages.
            with self._readers.reader() as connection:
                rows = connection.execute(query, (*parameters, after, bound, page_size)).fetchall()
            for row in rows:
                yield _record(row)
            if len(rows) < page_size:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def list_categories(self, *, after: str | None = None, limit: int) -> Sequence[CategorySummary]:
        with self._readers.reader() as connection:
            return streams.list_categories(connection, after, limit)

    def list_streams(
        self, *, category: str, prefix: str = "", after: str | None = None, limit: int
    ) -> Sequence[StreamSummary]:
        with self._readers.reader() as connection:
            return streams.list_streams(connection, category, prefix, after, limit)

    def summary(self) -> StoreSummary:
        with self._readers.reader() as connection:
            return streams.summary(connection)

    def read_record_by_id(self, id: str) -> EventRecord | None:
        with self._readers.reader() as connection:
            row = connection.execute(
                f"SELECT {_COLUMNS} FROM events WHERE id = ?", (id,)
            ).fetchone()
        return None if row is None else _record(row)

    def head(self) -> int:
        with self._readers.reader() as connection:
            head: int = connection.execute(
                "SELECT coalesce(max(sequence_number), ?) FROM events", (NO_EVENTS,)
            ).fetchone()[0]
        return head

    def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        # Publishes in this process wake waiters at once; the timeout re-reads the head,
        # which catches publishes by other processes sharing the file.
        return self._head_signal.wait(known_head, timeout, self.head)

    def close(self) -> None:
        """Close every connection; later calls raise ``StorageUnavailableError``."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._writer.close()
        self._readers.close()
