"""The SQLite adapter: the embedded, durable default, one file on local disk.

Durability: the database runs in WAL mode with ``synchronous=FULL``, so a publish that
returned has been fsynced to the write-ahead log and survives a ``kill -9`` or a power cut;
a publish interrupted part-way leaves nothing, since each publish is one transaction.

Concurrency: one writer at a time. In this process a lock serialises writers onto one
connection; across processes ``BEGIN IMMEDIATE`` takes SQLite's write lock before the head,
the streams' last positions and the query conditions' first matches are read, so a publish
(of any number of streams) has its conditions checked, sequence numbers and positions
assigned and its events inserted in one transaction (``writing``). Commit order is therefore
sequence-number order and numbers stay contiguous. Readers borrow their own connections
from a small pool: in WAL mode they read a committed snapshot and never block the writer.
"""

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import (
    EventStoreError,
    StorageFullError,
    StorageUnavailableError,
)
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from ..engine import HeadSignal, RecordStorageAdapter, payload_bytes, within_bytes
from ..groups.records import GroupRecords
from . import streams
from .files import open_writer
from .groups import SqliteGroupRecords
from .queries import Statement, page_statement
from .readers import ReaderPool
from .rows import COLUMNS, record
from .times import to_microseconds
from .writing import write_publish

__all__ = ["SqliteStorageAdapter"]

# How many rows one read page fetches: bounds a scan's memory whatever its size.
READ_PAGE_SIZE = 500

_HEAD = "SELECT coalesce(max(sequence_number), -1) FROM events"


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
        self._groups = SqliteGroupRecords(write=self._write_transaction, read=self._readers.reader)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    # Writing --------------------------------------------------------------------------

    def write_streams(
        self,
        *,
        writes: Sequence[PendingWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        # A retry or an empty publish writes nothing: its commit costs no sync.
        with self._write_transaction() as connection:
            records, written = write_publish(connection, writes, conditions)
        if records:
            # Heads only grow, so a retry's (older) last number changes nothing here.
            self._head_signal.advance(max(record.sequence_number for record in records))
        self._committed(written)
        return records

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        """The writer connection in a ``BEGIN IMMEDIATE`` transaction, committed when the
        block ends and rolled back if it raises."""
        with self._write_lock:
            if self._closed:
                raise StorageUnavailableError(f"the SQLite event store {self._path} is closed")
            connection = self._writer
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise StorageUnavailableError(f"SQLite write lock: {error}") from error
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException as error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.OperationalError):
                    raise _write_error(self._path, error) from error
                raise

    # Consumer groups ------------------------------------------------------------------

    def group_records(self) -> GroupRecords:
        """The groups kept in this file (``SqliteGroupRecords``), written through the
        same writer connection and lock as the events."""
        return self._groups

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

    def _page_statement(self, target: Scannable) -> Statement:
        match target:
            case Query():
                return page_statement(target)
            case identifier.Log():
                where, parameters = "", {}
            case identifier.Category(category=category):
                where, parameters = "category = :category AND ", {"category": category}
            case identifier.Stream(category=category, stream=stream):
                where = "category = :category AND stream = :stream AND "
                parameters = {"category": category, "stream": stream}
        return Statement(
            f"SELECT {COLUMNS} FROM events WHERE {where}sequence_number > :after"
            " AND sequence_number <= :bound ORDER BY sequence_number LIMIT :limit",
            parameters,
        )

    def _budgeted_page(
        self, target: Scannable, after: int, bound: int, limit: int | None, max_bytes: int
    ) -> list[EventRecord]:
        # SQLite steps one row at a time, so the rule cuts the page while it is read: the
        # rows after the budget are never loaded.
        if limit is None and isinstance(target, Query):
            # A query's branches each sort what they yield, so unbounded they would sort
            # every match before the first row: page it instead.
            return list(
                within_bytes(self._pages(target, after, bound, None), max_bytes, payload_bytes)
            )
        statement = self._page_statement(target)
        # LIMIT -1: no limit in SQLite; the budget ends the page.
        size = -1 if limit is None else limit
        with self._readers.reader() as connection:
            rows = connection.execute(
                statement.sql, statement.bind(after=after, bound=bound, limit=size)
            )
            try:
                return list(within_bytes((record(row) for row in rows), max_bytes, payload_bytes))
            finally:
                rows.close()

    def _pages(
        self, target: Scannable, after: int, bound: int, limit: int | None
    ) -> Iterator[EventRecord]:
        statement = self._page_statement(target)
        remaining = limit
        while remaining is None or remaining > 0:
            page_size = READ_PAGE_SIZE if remaining is None else min(READ_PAGE_SIZE, remaining)
            # One short read transaction per page: a slow consumer holds no connection
            # and no snapshot between pages.
            with self._readers.reader() as connection:
                rows = connection.execute(
                    statement.sql, statement.bind(after=after, bound=bound, limit=page_size)
                ).fetchall()
            for row in rows:
                yield record(row)
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
            row = connection.execute(f"SELECT {COLUMNS} FROM events WHERE id = ?", (id,)).fetchone()
        return None if row is None else record(row)

    def count_records(self, *, target: Scannable, after_sequence_number: int, through: int) -> int:
        if through <= after_sequence_number:
            return 0
        parameters: tuple[str, ...]
        match target:
            case identifier.Category(category=category):
                where, parameters = "category = ?", (category,)
            case identifier.Stream(category=category, stream=stream):
                where, parameters = "category = ? AND stream = ?", (category, stream)
            case _:
                return super().count_records(
                    target=target, after_sequence_number=after_sequence_number, through=through
                )
        with self._readers.reader() as connection:
            count: int = connection.execute(
                f"SELECT count(*) FROM events WHERE {where}"
                " AND sequence_number > ? AND sequence_number <= ?",
                (*parameters, after_sequence_number, through),
            ).fetchone()[0]
        return count

    def head(self) -> int:
        with self._readers.reader() as connection:
            head: int = connection.execute(_HEAD).fetchone()[0]
        return head

    def after_sequence_number_since(self, since: datetime) -> int:
        """Just before the first event observed at or after ``since``, the head when there
        is none: found in the index of observed times, in one snapshot with the head."""
        with self._readers.reader() as connection:
            found: int = connection.execute(
                "SELECT coalesce((SELECT min(sequence_number) FROM events"
                " INDEXED BY events_by_observed_at WHERE observed_at >= ?) - 1,"
                f" ({_HEAD}))",
                (to_microseconds(since),),
            ).fetchone()[0]
        return found

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
