"""The PostgreSQL adapter: events in one table, a gap-free global order, group commit.

Why a plain sequence is not enough
----------------------------------
Sequence numbers must be contiguous from 0 *and* assigned in commit order (promise 2 of
docs/invariants.md): once a reader has seen ``s``, no event numbered below ``s`` may appear later.
A ``bigserial``/sequence gives neither. Its value is taken when a row is inserted but the
row becomes visible only when its transaction commits, so two writers can take 7 and 8,
commit 8 first, and a reader paging "after s" reads 8, remembers it and never sees 7 when
it commits a moment later. Sequences also leave holes whenever a transaction rolls back.
Timers that "wait out" gaps only move the problem: under load a transaction outlives any
timer, and the reader skips its event for good.

What this adapter does instead
------------------------------
Every write transaction first takes one transaction-scoped advisory lock
(``pg_advisory_xact_lock``, key derived from the table name), then, in fresh statements,
reads the head and the last event of each stream it writes, checks the conditions, assigns
the next sequence numbers and positions itself, inserts and commits. PostgreSQL makes a
transaction visible before it releases its locks, so the next lock holder's reads see every
earlier write: numbers stay contiguous and commit order equals number order, with any number
of threads, processes or servers. Readers need nothing special: plain keyset pages
(``sequence_number > s ORDER BY sequence_number LIMIT n``), each its own short query.

One lock means one writer at a time per table, so throughput comes from doing more per lock
hold (group commit): concurrent publishes in this process queue up, and whichever thread
finds no transaction running takes the whole queue into one transaction. Each publish's
retry lookup and conditions are checked on their own against the running state of the
group (a publish sees the ones before it), only the failing ones are rejected, the rest are
inserted with one statement and committed once. A transaction is two round trips in
pipeline mode: lock and reads, then insert, ``NOTIFY`` and commit. ``lock_timeout``,
``statement_timeout`` and ``idle_in_transaction_session_timeout`` are set on every write
transaction, so a stuck or vanished writer cannot hold the store: its transaction is
cancelled or its session ended, which rolls it back and frees the lock.

Each commit sends one ``NOTIFY`` with the new head. Each adapter holds one ``LISTEN``
connection (started on first use, in a background thread) that wakes the threads waiting
in ``wait_for_head_change``; notifications are hints only, and a timed-out wait re-reads the
head, so a missed notification delays a wake-up but loses nothing.

Payloads are stored in a ``json`` column (not ``jsonb``, which rewrites numbers such as
``1e300`` and reorders keys) and read back as text, so they reach the gRPC wire without being
decoded. Connection failures surface as ``StorageUnavailableError``; the owned pool checks
connections before handing them out, so after a PostgreSQL restart later calls succeed.
"""

import hashlib
import json
import re
import select
import threading
from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, unquote, urlsplit

try:
    import psycopg
    import psycopg_pool
    from psycopg import sql
    from psycopg.conninfo import make_conninfo
except ImportError as missing:
    raise ImportError(
        f"PostgreSQL storage needs the postgres extra ({missing.name} is not installed): "
        "pip install 'logicblocks-event-store-server[postgres]'"
    ) from missing

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition, ensure_conditions
from logicblocks.event.store.exceptions import (
    InvalidInputError,
    StorageOpenError,
    StorageUnavailableError,
)
from logicblocks.event.store.records import (
    EventRecord,
    PendingEvent,
    resolve_retry,
    trusted_event_record,
)
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier

from .engine import HeadSignal, RecordStorageAdapter, payload_bytes

__all__ = ["ConnectionParameters", "ConnectionSource", "PostgresStorageAdapter", "TableParameters"]

SCHEMA_VERSION = 1

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_PAGE_SIZE = 1000
# A group stops taking queued publishes once it holds this many events, bounding the size
# of one statement and of the memory a group holds.
_GROUP_EVENT_LIMIT = 5000
_LISTEN_POLL_SECONDS = 0.5
_LISTEN_RETRY_SECONDS = 1.0
_PIPELINE_SUPPORTED = psycopg.Pipeline.is_supported()
_RECONNECT_TIMEOUT = 5.0
# Parameters that are lists go as JSON text made by the C encoder, unpacked by PostgreSQL's
# JSON functions: psycopg dumps list parameters element by element in Python.
_json_text = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class ConnectionParameters:
    """Where the database is; the adapter opens and owns a connection pool from these."""

    host: str
    port: int
    dbname: str
    user: str
    password: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    """Further libpq parameters, such as ``("sslmode", "verify-full")``."""

    def to_connection_string(self) -> str:
        """A libpq connection string (values quoted as libpq needs)."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
        }
        if self.password is not None:
            values["password"] = self.password
        values.update(self.options)
        return make_conninfo("", **values)

    @classmethod
    def from_url(cls, url: str) -> "ConnectionParameters":
        """Parse ``postgresql://user:password@host:port/dbname?param=value&...``.

        The port defaults to 5432. Query parameters are kept as libpq parameters
        (``sslmode``, ``connect_timeout``, ...); ``?host=/path`` names a Unix socket
        directory when the URL has no host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise InvalidInputError("url", "must start with postgresql://")
        try:
            port = parts.port or 5432
        except ValueError:
            raise InvalidInputError("url", "port must be a number from 1 to 65535") from None
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.hostname and "host" in options:
            raise InvalidInputError("url", "names a host twice (in the URL and in ?host=)")
        host = parts.hostname or options.pop("host", "")
        if not host:
            raise InvalidInputError("url", "must name a host: postgresql://user@host:port/db")
        try:
            make_conninfo("", **options)
        except psycopg.ProgrammingError as error:
            raise InvalidInputError(
                "url", f"has a parameter libpq does not know ({str(error).strip()})"
            ) from None
        user = unquote(parts.username) if parts.username else "postgres"
        dbname = unquote(parts.path.lstrip("/")) or user
        return cls(
            host=host,
            port=port,
            dbname=dbname,
            user=user,
            password=None if parts.password is None else unquote(parts.password),
            options=tuple(options.items()),
        )


@dataclass(frozen=True)
class TableParameters:
    """Names the events table; the schema-version table and notify channel derive from it.

    The name must be a plain SQL identifier (letters, digits, underscores, at most 40).
    """

    events_table_name: str = "events"

    def __post_init__(self) -> None:
        if not isinstance(self.events_table_name, str) or not _IDENTIFIER.fullmatch(
            self.events_table_name
        ):
            raise InvalidInputError(
                "events_table_name",
                "must be an identifier: a letter or underscore, then letters, digits or "
                "underscores, at most 40 characters",
            )

    @property
    def schema_version_table_name(self) -> str:
        """The table recording which schema migrations have been applied."""
        return f"{self.events_table_name}_schema_version"

    @property
    def channel(self) -> str:
        """The ``LISTEN``/``NOTIFY`` channel carrying the head after each commit."""
        return f"{self.events_table_name}_head"

    @property
    def lock_key(self) -> int:
        """The advisory lock key serialising writers of this table (a signed 64-bit int)."""
        digest = hashlib.sha256(f"logicblocks.event.store:{self.events_table_name}".encode())
        return int.from_bytes(digest.digest()[:8], "big", signed=True)


ConnectionSource: TypeAlias = "ConnectionParameters | psycopg_pool.ConnectionPool[Any]"


@dataclass
class _Publish:
    """One caller's publish waiting in the group-commit queue, and its outcome."""

    target: identifier.Stream
    events: Sequence[PendingEvent]
    conditions: Set[WriteCondition]
    done: bool = False
    records: Sequence[EventRecord] = ()
    error: BaseException | None = None


@dataclass
class _StreamState:
    """A stream's last position during a group: from the table, then from the group itself."""

    position: int | None


# The record columns in EventRecord field order, payload as its exact JSON text.
_RECORD_COLUMNS = sql.SQL(
    "id, name, stream, category, position, sequence_number, payload::text, observed_at, occurred_at"
)


def _record(row: Sequence[Any]) -> EventRecord:
    observed_at = row[7]
    occurred_at = row[8]
    # Already in UTC from the adapter's own sessions (see _configure_connection).
    if observed_at.tzinfo is not UTC:
        observed_at = observed_at.astimezone(UTC)
    if occurred_at.tzinfo is not UTC:
        occurred_at = occurred_at.astimezone(UTC)
    return trusted_event_record(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], observed_at, occurred_at
    )


def _check_connection(connection: psycopg.Connection[Any]) -> None:
    """Make sure a pooled connection still works before a call uses it.

    A round trip only when the server has sent something unprompted: an idle connection
    receives nothing, but a server shutting down sends a termination message and a closed
    socket reads as end of file. A network partition goes unseen here; the call then fails
    as unavailable and the broken connection is discarded.
    """
    if connection.closed:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    if readable:
        psycopg_pool.ConnectionPool.check_connection(connection)


def _configure_connection(connection: psycopg.Connection[Any]) -> None:
    """Set up a connection of the adapter's own pool: sessions in UTC.

    Timestamps are returned in UTC whatever the session's time zone, but in a "UTC" session
    psycopg hands them over in ``datetime.UTC`` (nothing left to convert) rather than in a
    ``ZoneInfo`` such as ``Etc/UTC``, which halves the cost of loading a row.
    """
    connection.execute("SET TIME ZONE 'UTC'")


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Report an unreachable or overloaded database as ``StorageUnavailableError``.

    ``OperationalError`` covers lost connections, pool timeouts (``PoolTimeout``) and the
    lock and statement timeouts: all are worth retrying. Other database errors propagate.
    """
    try:
        yield
    except psycopg.errors.ProgramLimitExceeded:
        # A request too large for the database (an index entry, say): not an outage.
        raise
    except (psycopg.OperationalError, psycopg.InterfaceError) as error:
        raise StorageUnavailableError(f"PostgreSQL is unavailable: {error}") from error


class PostgresStorageAdapter(RecordStorageAdapter):
    """Stores events in a PostgreSQL table (see the module docstring for the mechanism).

    ``connection_source`` is either ``ConnectionParameters`` (the adapter opens a pool and
    ``close()`` closes it) or a ``psycopg_pool.ConnectionPool`` the caller owns and closes.
    ``table_parameters`` names the table. The schema is created or migrated on construction.
    ``lock_timeout`` and ``statement_timeout`` (seconds) bound each write transaction.
    """

    connection_pool: "psycopg_pool.ConnectionPool[Any]"
    connection_pool_owner: bool
    table_parameters: TableParameters

    def __init__(
        self,
        *,
        connection_source: ConnectionSource,
        table_parameters: TableParameters = TableParameters(),
        lock_timeout: float = 10.0,
        statement_timeout: float = 30.0,
        pool_timeout: float = 10.0,
        max_pool_size: int = 10,
    ) -> None:
        if isinstance(connection_source, ConnectionParameters):
            self.connection_pool_owner = True
            self.connection_pool = psycopg_pool.ConnectionPool(
                connection_source.to_connection_string(),
                min_size=1,
                max_size=max_pool_size,
                timeout=pool_timeout,
                # A connection broken by a server restart is replaced before it is used,
                # so the adapter recovers by itself.
                check=_check_connection,
                configure=_configure_connection,
                # While the database is down the pool retries with growing delays; giving
                # up after a few seconds lets the next call start a fresh attempt at once.
                reconnect_timeout=_RECONNECT_TIMEOUT,
                name="logicblocks-event-store",
                # Reads are single statements; writes open their transactions explicitly.
                kwargs={"autocommit": True},
                open=False,
            )
            try:
                self.connection_pool.open(wait=False)
            except psycopg.OperationalError as error:
                raise StorageUnavailableError(f"PostgreSQL is unavailable: {error}") from error
        elif isinstance(connection_source, psycopg_pool.ConnectionPool):
            self.connection_pool_owner = False
            self.connection_pool = connection_source
        else:
            raise InvalidInputError(
                "connection_source", "must be ConnectionParameters or a psycopg_pool.ConnectionPool"
            )
        if not isinstance(table_parameters, TableParameters):
            raise InvalidInputError("table_parameters", "must be TableParameters")
        self.table_parameters = table_parameters
        self._timeouts = {
            "lock_timeout": f"{int(lock_timeout * 1000)}ms",
            "statement_timeout": f"{int(statement_timeout * 1000)}ms",
            "idle_in_transaction_session_timeout": f"{int(statement_timeout * 1000)}ms",
        }
        self._pool_timeout = pool_timeout
        self._queries = _Queries(table_parameters)

        self._queue: list[_Publish] = []
        self._queue_condition = threading.Condition()
        self._leader_active = False

        self._head_signal = HeadSignal()
        self._closed = threading.Event()
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()

        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # Lifecycle ----------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with _storage_errors(), self.connection_pool.connection(self._pool_timeout) as connection:
            yield connection

    def _migrate(self) -> None:
        """Create or upgrade the schema, once, whichever processes start at the same time."""
        queries = self._queries
        with self._connection() as connection, connection.transaction():
            connection.execute(queries.lock, (self.table_parameters.lock_key,))
            connection.execute(queries.create_version_table)
            row = connection.execute(queries.schema_version).fetchone()
            current = 0 if row is None or row[0] is None else int(row[0])
            if current > SCHEMA_VERSION:
                raise StorageOpenError(
                    f"table {self.table_parameters.events_table_name} has schema version "
                    f"{current}, newer than this adapter's {SCHEMA_VERSION}: upgrade the library"
                )
            for version, description, statements in queries.migrations:
                if version <= current:
                    continue
                for statement in statements:
                    connection.execute(statement)
                connection.execute(queries.record_version, (version, description))

    def close(self) -> None:
        """Stop the listener and close the pool if the adapter opened it."""
        with self._listener_lock:
            # Under the lock: _ensure_listener sets the thread before starting it.
            self._closed.set()
            listener = self._listener
        if listener is not None:
            listener.join(timeout=5)
        if self.connection_pool_owner:
            self.connection_pool.close()

    # Writes -------------------------------------------------------------------------------

    def write_records(
        self,
        *,
        target: identifier.Stream,
        events: Sequence[PendingEvent],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        publish = _Publish(target=target, events=events, conditions=conditions)
        with self._queue_condition:
            self._queue.append(publish)
        # A group is capped in events, so the group this thread leads may not reach its own
        # publish (queued behind larger ones): it leads or waits until its publish is done.
        while True:
            with self._queue_condition:
                while self._leader_active and not publish.done:
                    self._queue_condition.wait()
                if publish.done:
                    break
                # No transaction is running: this thread leads the next group.
                self._leader_active = True
                group = self._take_group()
            try:
                self._commit_group(group)
            finally:
                with self._queue_condition:
                    self._leader_active = False
                    self._queue_condition.notify_all()
        if publish.error is not None:
            raise publish.error
        return publish.records

    def _take_group(self) -> list[_Publish]:
        """Take queued publishes (oldest first) up to the group's event limit."""
        taken = 0
        count = 0
        for publish in self._queue:
            if count and taken + len(publish.events) > _GROUP_EVENT_LIMIT:
                break
            taken += len(publish.events)
            count += 1
        group, self._queue = self._queue[:count], self._queue[count:]
        return group

    def _commit_group(self, group: list[_Publish]) -> None:
        """Write a group of publishes in one transaction; record each one's outcome."""
        try:
            head = self._write_group(group)
        except (
            psycopg.DataError,
            psycopg.IntegrityError,
            psycopg.errors.ProgramLimitExceeded,
            ValueError,
        ) as error:
            if len(group) == 1:
                self._fail(group, error)
                return
            # One publish's data broke the whole transaction (nothing was written): write
            # each alone, so only the offender fails, not the publishes grouped with it.
            for publish in group:
                self._commit_group([publish])
            return
        except BaseException as error:
            # Nothing of the group was written (the storage failed). Every publish gets the
            # failure, even one that failed its conditions: those were judged against
            # writes that never happened.
            self._fail(group, error)
            return
        if head is not None:
            self._head_signal.advance(head)
        for publish in group:
            publish.done = True

    @staticmethod
    def _fail(group: list[_Publish], error: BaseException) -> None:
        for publish in group:
            publish.error = error
            publish.records = ()
            publish.done = True

    def _write_group(self, group: list[_Publish]) -> int | None:
        queries = self._queries
        streams_written = sorted({(p.target.category, p.target.stream) for p in group})
        client_ids = [e.id for p in group for e in p.events if e.id_chosen_by_client]

        with (
            self._connection() as connection,
            connection.pipeline() if _PIPELINE_SUPPORTED else nullcontext(),
            connection.transaction(),
        ):
            # Round trip 1: timeouts and the lock, then reads in statements of their
            # own, whose snapshots are taken after the lock is held. READ COMMITTED
            # whatever a caller's pool is set to: a repeatable-read snapshot would be
            # taken before the lock is held and miss the previous holder's commit.
            connection.execute(queries.read_committed)
            connection.execute(
                queries.begin_write,
                (*self._timeouts.values(), self.table_parameters.lock_key),
            )
            head_cursor = connection.execute(queries.head)
            last_cursor = connection.execute(
                queries.last_positions,
                (
                    _json_text(
                        [
                            {"category": category, "stream": stream}
                            for category, stream in streams_written
                        ]
                    ),
                ),
            )
            ids_cursor = (
                connection.execute(queries.records_by_id, (_json_text(client_ids),))
                if client_ids
                else None
            )
            head = _single_int(head_cursor.fetchone())
            streams = {
                (row[0], row[1]): _StreamState(position=row[2]) for row in last_cursor.fetchall()
            }
            known_ids = {} if ids_cursor is None else {row[0]: _record(row) for row in ids_cursor}

            rows = self._assign(group, head, streams, known_ids)
            if not rows:
                return None
            # Round trip 2: one insert for the whole group, the wake-up, the commit.
            connection.execute(queries.insert, (rows.json(),))
            new_head = rows.last_sequence_number
            connection.execute(queries.notify, (self.table_parameters.channel, str(new_head)))
        return new_head

    def _assign(
        self,
        group: list[_Publish],
        head: int,
        streams: dict[tuple[str, str], _StreamState],
        known_ids: dict[str, EventRecord],
    ) -> "_Rows":
        """Check each publish against the running state and number the accepted ones."""
        rows = _Rows()
        next_sequence_number = head + 1
        for publish in group:
            # A publish may be judged again (alone, after its group failed): afresh.
            publish.error, publish.records = None, ()
            target = publish.target
            key = (target.category, target.stream)
            state = streams.setdefault(key, _StreamState(position=None))
            try:
                found = {
                    event.id: known_ids[event.id]
                    for event in publish.events
                    if event.id in known_ids
                }
                retried = resolve_retry(target, publish.events, found)
                if retried is not None:
                    publish.records = retried
                    continue
                if publish.conditions:
                    ensure_conditions(target, publish.conditions, state.position)
            except Exception as error:
                # Rejects this publish only (a failed condition or a reused id); the
                # caller's thread re-raises it.
                publish.error = error
                continue

            position = 0 if state.position is None else state.position + 1
            records = [
                EventRecord(
                    id=event.id,
                    name=event.name,
                    stream=target.stream,
                    category=target.category,
                    position=position + offset,
                    sequence_number=next_sequence_number + offset,
                    payload=event.payload,
                    observed_at=event.observed_at,
                    occurred_at=event.occurred_at,
                )
                for offset, event in enumerate(publish.events)
            ]
            publish.records = records
            if records:
                next_sequence_number += len(records)
                state.position = records[-1].position
                rows.extend(records)
                for record in records:
                    known_ids[record.id] = record
        return rows

    # Reads --------------------------------------------------------------------------------

    def read_records(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int = NO_EVENTS,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[EventRecord]:
        return self._pages(target, after_sequence_number, limit, max_bytes)

    def _pages(
        self, target: Scannable, after: int, limit: int | None, max_bytes: int | None
    ) -> Iterator[EventRecord]:
        # Each page is its own short query on a pooled connection, so a slow reader holds
        # no transaction or connection between pages. Pages follow the sequence number (the
        # position within a stream, which orders the same way), never OFFSET.
        remaining = limit
        last_position = -1
        budget = max_bytes
        while remaining is None or remaining > 0:
            size = _PAGE_SIZE if remaining is None else min(_PAGE_SIZE, remaining)
            if budget is None:
                query, parameters = self._queries.page(target, after, last_position, size)
            else:
                # The budget is applied in SQL (see _Queries.budgeted_page): PostgreSQL
                # sends a whole result at once, so rows past it must never leave the server.
                query, parameters = self._queries.budgeted_page(
                    target, after, last_position, size, budget, first=budget == max_bytes
                )
            with self._connection() as connection:
                # Binary results: ints and timestamps load without parsing text.
                rows = connection.execute(query, parameters, binary=True).fetchall()
            records = [_record(row) for row in rows]
            del rows
            yield from records
            if len(records) < size:
                return
            if budget is not None:
                budget -= sum(payload_bytes(record) for record in records)
                if budget <= 0:
                    return
            after, last_position = records[-1].sequence_number, records[-1].position
            if remaining is not None:
                remaining -= len(records)

    def head(self) -> int:
        with self._connection() as connection:
            return _single_int(connection.execute(self._queries.head).fetchone())

    # Wake-ups -----------------------------------------------------------------------------

    def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        self._ensure_listener()
        return self._head_signal.wait(known_head, timeout, self.head)

    def _ensure_listener(self) -> None:
        with self._listener_lock:
            if self._listener is None and not self._closed.is_set():
                self._listener = threading.Thread(
                    target=self._listen, name="event-store-postgres-listen", daemon=True
                )
                self._listener.start()

    def _listen(self) -> None:
        """Feed the head signal from ``NOTIFY``s; reconnect after failures until closed."""
        while not self._closed.is_set():
            try:
                # Its own connection, not one of the pool's: it is held for the adapter's life.
                conninfo, connection_kwargs = _connect_arguments(self.connection_pool)
                with psycopg.connect(conninfo, **connection_kwargs) as conn:
                    conn.execute(
                        sql.SQL("LISTEN {}").format(sql.Identifier(self.table_parameters.channel))
                    )
                    # Anything committed while we were not listening is picked up here.
                    self._head_signal.advance(
                        _single_int(conn.execute(self._queries.head).fetchone())
                    )
                    while not self._closed.is_set():
                        for notify in conn.notifies(timeout=_LISTEN_POLL_SECONDS):
                            if notify.payload.isdigit():
                                self._head_signal.advance(int(notify.payload))
            except (psycopg.OperationalError, psycopg.InterfaceError):
                # Waiters fall back to re-reading the head on their timeouts meanwhile.
                self._closed.wait(_LISTEN_RETRY_SECONDS)


def _single_int(row: Sequence[Any] | None) -> int:
    """The one integer an aggregate query (``SELECT coalesce(max(...), -1)``) returns."""
    if row is None or not isinstance(row[0], int):
        raise StorageUnavailableError(f"PostgreSQL answered {row!r} where a number was due")
    return row[0]


def _connect_arguments(
    pool: "psycopg_pool.ConnectionPool[Any]",
) -> tuple[str, dict[str, Any]]:
    """How ``pool`` connects (its settings may be given as callables), in autocommit."""
    conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
    kwargs = pool.kwargs() if callable(pool.kwargs) else pool.kwargs
    return conninfo, {**(kwargs or {}), "autocommit": True}


class _Rows:
    """Rows of one group's insert, sent as one JSON array for ``json_to_recordset``.

    One text parameter built with C-implemented encoders, rather than nine arrays, which
    psycopg dumps element by element in Python (that was a sixth of a server's publish
    time). Each payload goes in as a JSON *string* holding its text, cast to ``json`` in
    the insert: PostgreSQL's JSON functions unescape what they extract, and would refuse a
    payload holding ``\\u0000`` as a nested value, while a string's unescaping gives back
    exactly the payload's text, which the cast keeps as it is.
    """

    def __init__(self) -> None:
        self.records: list[EventRecord] = []

    def extend(self, records: Sequence[EventRecord]) -> None:
        self.records.extend(records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def last_sequence_number(self) -> int:
        return self.records[-1].sequence_number

    def json(self) -> str:
        string = _json_text
        # isoformat() of an aware datetime carries its offset, so the instant is exact
        # whatever the session's time zone; microseconds are kept.
        return (
            "["
            + ",".join(
                [
                    f'{{"sequence_number":{r.sequence_number},"id":{string(r.id)},'
                    f'"name":{string(r.name)},"category":{string(r.category)},'
                    f'"stream":{string(r.stream)},"position":{r.position},'
                    f'"payload":{string(r.payload)},'
                    f'"observed_at":"{r.observed_at.isoformat()}",'
                    f'"occurred_at":"{r.occurred_at.isoformat()}"}}'
                    for r in self.records
                ]
            )
            + "]"
        )


def _render(query: sql.Composable) -> str:
    """A composed query as plain text: psycopg caches the parsing of text queries (not of
    ``Composed`` objects) and prepares those run often, which the hot path relies on."""
    return query.as_string(None)


class _Queries:
    """The SQL of one table, composed once with its identifiers quoted."""

    def __init__(self, table_parameters: TableParameters) -> None:
        table = sql.Identifier(table_parameters.events_table_name)
        versions = sql.Identifier(table_parameters.schema_version_table_name)
        name = table_parameters.events_table_name

        def index(suffix: str) -> sql.Identifier:
            return sql.Identifier(f"{name}_{suffix}")

        self.lock = sql.SQL("SELECT pg_advisory_xact_lock(%s)")
        self.read_committed = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"
        self.create_version_table = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " version integer PRIMARY KEY,"
            " description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(versions)
        self.schema_version = sql.SQL("SELECT max(version) FROM {}").format(versions)
        self.record_version = sql.SQL(
            "INSERT INTO {} (version, description) VALUES (%s, %s)"
        ).format(versions)
        self.migrations: list[tuple[int, str, list[sql.Composed]]] = [
            (
                1,
                "events table with log, category, stream and id indexes",
                [
                    sql.SQL(
                        "CREATE TABLE {} ("
                        " sequence_number bigint NOT NULL,"
                        " id text NOT NULL,"
                        " name text NOT NULL,"
                        " category text NOT NULL,"
                        " stream text NOT NULL,"
                        " position bigint NOT NULL,"
                        # json, not jsonb: keeps the payload's exact text.
                        " payload json NOT NULL,"
                        " observed_at timestamptz NOT NULL,"
                        " occurred_at timestamptz NOT NULL,"
                        " CONSTRAINT {} PRIMARY KEY (sequence_number),"
                        " CONSTRAINT {} UNIQUE (category, stream, position),"
                        " CONSTRAINT {} UNIQUE (id))"
                    ).format(table, index("pkey"), index("stream_position_key"), index("id_key")),
                    sql.SQL("CREATE INDEX {} ON {} (category, sequence_number)").format(
                        index("category_idx"), table
                    ),
                ],
            ),
        ]

        self.begin_write = _render(
            sql.SQL(
                "SELECT set_config('lock_timeout', %s, true),"
                " set_config('statement_timeout', %s, true),"
                " set_config('idle_in_transaction_session_timeout', %s, true),"
                " pg_advisory_xact_lock(%s)"
            )
        )
        # -1 (NO_EVENTS) for an empty table, as every engine's head() says it.
        self.head = _render(
            sql.SQL("SELECT coalesce(max(sequence_number), -1) FROM {}").format(table)
        )
        # Each written stream's last position: conditions are judged from it alone.
        self.last_positions = _render(
            sql.SQL(
                "SELECT s.category, s.stream, e.position"
                " FROM json_to_recordset(%s::json) AS s(category text, stream text)"
                " CROSS JOIN LATERAL ("
                "  SELECT last.position FROM {} AS last"
                "  WHERE last.category = s.category AND last.stream = s.stream"
                "  ORDER BY last.position DESC LIMIT 1) AS e"
            ).format(table)
        )
        self.records_by_id = _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE id = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"
            ).format(_RECORD_COLUMNS, table)
        )
        self.insert = _render(
            sql.SQL(
                "INSERT INTO {} (sequence_number, id, name, category, stream, position, payload,"
                " observed_at, occurred_at)"
                " SELECT sequence_number, id, name, category, stream, position, payload::json,"
                " observed_at, occurred_at"
                " FROM json_to_recordset(%s::json) AS r(sequence_number bigint, id text,"
                " name text, category text, stream text, position bigint, payload text,"
                " observed_at timestamptz, occurred_at timestamptz)"
            ).format(table)
        )
        self.notify = "SELECT pg_notify(%s, %s)"

        self._pages = _page_queries(table, _RECORD_COLUMNS)
        # The budgeted pages read the payload as stored (not cast to text), so the rows a
        # budget cuts off are never detoasted for output.
        self._budgeted = {
            kind: _budgeted(query)
            for kind, query in _page_queries(
                table,
                sql.SQL(
                    "id, name, stream, category, position, sequence_number, payload,"
                    " observed_at, occurred_at, {} AS size"
                ).format(_PAYLOAD_SIZE),
            ).items()
        }

    def page(
        self, target: Scannable, after: int, last_position: int, size: int
    ) -> tuple[str, tuple[Any, ...]]:
        """The query and parameters of the next keyset page of ``target``."""
        kind, parameters = self._page_parameters(target, after, last_position, size)
        return self._pages[kind], parameters

    def budgeted_page(
        self,
        target: Scannable,
        after: int,
        last_position: int,
        size: int,
        budget: int,
        *,
        first: bool,
    ) -> tuple[str, tuple[Any, ...]]:
        """``page`` cut by ``within_bytes``'s rule: the rows whose payloads total at most
        ``budget`` bytes, and the first row anyway when ``first``."""
        kind, parameters = self._page_parameters(target, after, last_position, size)
        return self._budgeted[kind], (*parameters, budget, first)

    @staticmethod
    def _page_parameters(
        target: Scannable, after: int, last_position: int, size: int
    ) -> tuple[str, tuple[Any, ...]]:
        match target:
            case identifier.Log():
                return "log", (after, size)
            case identifier.Category(category=category):
                return "category", (category, after, size)
            case identifier.Stream(category=category, stream=stream):
                return "stream", (category, stream, last_position, after, size)
        raise InvalidInputError("target", "must be a log, category or stream identifier")


# A payload's size in bytes, as within_bytes counts it. A large uncompressed value stored
# out of line reports its exact size without being read; anything else (small, or
# compressed) is measured as text, which for a compressed value means decompressing it.
# Values over 8 KiB cannot be stored inline, so pg_column_size is their exact length there.
_PAYLOAD_SIZE = sql.SQL(
    "CASE WHEN pg_column_size(payload) > 8192 AND pg_column_compression(payload) IS NULL"
    " THEN pg_column_size(payload) ELSE octet_length(payload::text) END"
)


def _page_queries(table: sql.Identifier, columns: sql.Composable) -> dict[str, str]:
    """The keyset page query of each kind of target, selecting ``columns``."""
    return {
        "log": _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE sequence_number > %s ORDER BY sequence_number LIMIT %s"
            ).format(columns, table)
        ),
        "category": _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE category = %s AND sequence_number > %s"
                " ORDER BY sequence_number LIMIT %s"
            ).format(columns, table)
        ),
        "stream": _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE category = %s AND stream = %s AND position > %s"
                " AND sequence_number > %s ORDER BY position LIMIT %s"
            ).format(columns, table)
        ),
    }


def _budgeted(page: str) -> str:
    """``page`` (selecting ``size``) cut where the running total of ``size`` passes a budget.

    Candidates and window both follow the page's order; the window streams, so PostgreSQL
    reads no more rows than the page's LIMIT.
    """
    return (
        "SELECT id, name, stream, category, position, sequence_number, payload::text,"
        " observed_at, occurred_at FROM ("
        " SELECT *, sum(size) OVER w AS running, row_number() OVER w AS n"
        f" FROM ({page}) AS candidates"
        " WINDOW w AS (ORDER BY sequence_number ROWS UNBOUNDED PRECEDING)) AS cut"
        " WHERE running <= %s OR (n = 1 AND %s) ORDER BY sequence_number"
    )
