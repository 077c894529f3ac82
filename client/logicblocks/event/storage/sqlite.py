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
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition, ensure_conditions
from logicblocks.event.store.exceptions import (
    EventStoreError,
    StorageFullError,
    StorageOpenError,
    StorageUnavailableError,
)
from logicblocks.event.store.records import EventRecord, PendingEvent, resolve_retry
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier

from .engine import HeadSignal, RecordStorageAdapter, payload_bytes, within_bytes

__all__ = ["SCHEMA_VERSION", "SqliteStorageAdapter", "StorageOpenError"]

# Recorded in the file header (PRAGMA user_version); raised by each schema change.
SCHEMA_VERSION = 1
# Marks the file as an event store ("LBev"), so a foreign database is recognised as one.
APPLICATION_ID = int.from_bytes(b"LBev", "big")

# How many rows one read page fetches: bounds a scan's memory whatever its size.
READ_PAGE_SIZE = 500
# Idle reader connections kept open for reuse; more are opened when needed, then closed.
MAX_IDLE_READERS = 8
# How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 10_000
# Ids looked up per statement, well under SQLite's bound-parameter limit.
ID_LOOKUP_CHUNK = 500

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
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
) STRICT;
CREATE INDEX IF NOT EXISTS events_by_category ON events (category, sequence_number);
CREATE INDEX IF NOT EXISTS events_by_stream ON events (category, stream, sequence_number);
"""

_COLUMNS = (
    "sequence_number, id, name, category, stream, position, payload, observed_at, occurred_at"
)


def _to_microseconds(value: datetime) -> int:
    # Integer microseconds since the epoch: exact, sortable, and independent of time zones.
    return (value - _EPOCH) // _MICROSECOND


def _from_microseconds(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _record(row: tuple[Any, ...]) -> EventRecord:
    return EventRecord(
        sequence_number=row[0],
        id=row[1],
        name=row[2],
        category=row[3],
        stream=row[4],
        position=row[5],
        payload=row[6],
        observed_at=_from_microseconds(row[7]),
        occurred_at=_from_microseconds(row[8]),
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
        self._pool_lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._head_signal = HeadSignal()
        self._writer = self._open_writer()

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    # Opening ------------------------------------------------------------------------

    def _fail(self, reason: str) -> StorageOpenError:
        return StorageOpenError(f"cannot open SQLite event store {str(self._path)!r}: {reason}")

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are begun explicitly, so each publish is exactly one.
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=0
        )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return connection

    def _open_writer(self) -> sqlite3.Connection:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._fail(f"its folder cannot be created ({error})") from error
        if self._path.is_dir():
            raise self._fail("it is a directory")
        try:
            connection = self._connect()
        except sqlite3.Error as error:
            raise self._fail(f"{error} (is the folder writable?)") from error
        try:
            self._check_file(connection)
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise self._fail(f"the file system does not support WAL mode (got {mode})")
            # FULL in WAL mode: every commit is fsynced before it returns.
            connection.execute("PRAGMA synchronous = FULL")
            self._migrate(connection)
        except StorageOpenError:
            connection.close()
            raise
        except sqlite3.Error as error:
            connection.close()
            raise self._fail(str(error)) from error
        return connection

    def _check_file(self, connection: sqlite3.Connection) -> None:
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
        except sqlite3.DatabaseError as error:
            if error.sqlite_errorcode == sqlite3.SQLITE_NOTADB:
                raise self._fail(f"it is not a SQLite database ({error})") from error
            raise
        self._check_identity(application_id, version, tables)

    def _check_identity(self, application_id: int, version: int, tables: int) -> None:
        if application_id == 0 and tables == 0:
            return  # a new, empty database: ours to set up
        if application_id != APPLICATION_ID:
            raise self._fail("it is a SQLite database of another application, not an event store")
        if version > SCHEMA_VERSION:
            raise self._fail(
                f"its schema version {version} is newer than this code knows "
                f"({SCHEMA_VERSION}); upgrade the event store"
            )

    def _migrate(self, connection: sqlite3.Connection) -> None:
        # Checked again under the write lock: another process may have set the file up.
        connection.execute("BEGIN IMMEDIATE")
        try:
            application_id = connection.execute("PRAGMA application_id").fetchone()[0]
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            self._check_identity(application_id, version, tables)
            if version < SCHEMA_VERSION:
                # executescript would commit first; run the statements inside this transaction.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    # Reader connections ---------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise StorageUnavailableError(f"the SQLite event store {self._path} is closed")
            connection = self._idle_readers.pop() if self._idle_readers else None
        try:
            if connection is None:
                connection = self._connect()
                connection.execute("PRAGMA query_only = ON")
            yield connection
        except sqlite3.OperationalError as error:
            raise StorageUnavailableError(f"SQLite read failed: {error}") from error
        finally:
            if connection is not None:
                with self._pool_lock:
                    keep = not self._closed and len(self._idle_readers) < MAX_IDLE_READERS
                    if keep:
                        self._idle_readers.append(connection)
                if not keep:
                    connection.close()

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
                records = self._write(connection, target, events, conditions)
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
        return records

    def _write(
        self,
        connection: sqlite3.Connection,
        target: identifier.Stream,
        events: Sequence[PendingEvent],
        conditions: Set[WriteCondition],
    ) -> Sequence[EventRecord]:
        """Inside the write transaction: resolve retries, check conditions, insert."""
        retried = resolve_retry(target, events, self._stored_ids(connection, events))
        if retried is not None:
            return retried

        last_position: int | None = connection.execute(
            "SELECT max(position) FROM events WHERE category = ? AND stream = ?",
            (target.category, target.stream),
        ).fetchone()[0]
        ensure_conditions(target, conditions, last_position)
        if not events:
            return []

        head: int = connection.execute(
            "SELECT coalesce(max(sequence_number), ?) FROM events", (NO_EVENTS,)
        ).fetchone()[0]
        first_sequence_number = head + 1
        first_position = 0 if last_position is None else last_position + 1
        records = [
            EventRecord(
                id=event.id,
                name=event.name,
                stream=target.stream,
                category=target.category,
                position=first_position + offset,
                sequence_number=first_sequence_number + offset,
                payload=event.payload,
                observed_at=event.observed_at,
                occurred_at=event.occurred_at,
            )
            for offset, event in enumerate(events)
        ]
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
                    _to_microseconds(record.observed_at),
                    _to_microseconds(record.occurred_at),
                )
                for record in records
            ],
        )
        return records

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
        with self._reader() as connection:
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
            with self._reader() as connection:
                rows = connection.execute(query, (*parameters, after, bound, page_size)).fetchall()
            for row in rows:
                yield _record(row)
            if len(rows) < page_size:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def head(self) -> int:
        with self._reader() as connection:
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
        with self._write_lock, self._pool_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle_readers = self._idle_readers, []
            self._writer.close()
        for connection in idle:
            connection.close()
