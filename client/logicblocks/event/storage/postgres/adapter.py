"""``PostgresStorageAdapter``: the engine's parts (connection, schema, group commit, reads,
the ``LISTEN`` thread) tied together behind ``RecordStorageAdapter``."""

from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import ConfigurationError
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.records import EventRecord, PendingEvent
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier

from ..engine import HeadSignal, RecordStorageAdapter, payload_bytes
from .connection import ConnectionParameters, ConnectionSource, open_pool, storage_errors
from .group_commit import GroupCommit
from .listener import HeadListener
from .listing import Listing
from .queries import Queries, record_from_row, single_int
from .schema import migrate, privilege_error
from .tables import TableParameters

__all__ = ["PostgresStorageAdapter"]

_PAGE_SIZE = 1000
# The default table, "events" (a frozen value, safe to share as a default).
_EVENTS_TABLE = TableParameters()


class PostgresStorageAdapter(RecordStorageAdapter):
    """Stores events in a PostgreSQL table (see the package docstring for the mechanism).

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
        table_parameters: TableParameters = _EVENTS_TABLE,
        lock_timeout: float = 10.0,
        statement_timeout: float = 30.0,
        pool_timeout: float = 10.0,
        max_pool_size: int = 10,
    ) -> None:
        if isinstance(connection_source, ConnectionParameters):
            self.connection_pool_owner = True
            self.connection_pool = open_pool(
                connection_source, max_size=max_pool_size, timeout=pool_timeout
            )
        elif isinstance(connection_source, psycopg_pool.ConnectionPool):
            self.connection_pool_owner = False
            self.connection_pool = connection_source
        else:
            raise ConfigurationError(
                field="connection_source",
                message="must be ConnectionParameters or a psycopg_pool.ConnectionPool",
            )
        if not isinstance(table_parameters, TableParameters):
            raise ConfigurationError(field="table_parameters", message="must be TableParameters")
        self.table_parameters = table_parameters
        self._pool_timeout = pool_timeout
        self._queries = Queries(table_parameters)
        self._listing = Listing(table_parameters)
        self._head_signal = HeadSignal()
        self._group_commit = GroupCommit(
            connection=self._connection,
            queries=self._queries,
            table_parameters=table_parameters,
            head_signal=self._head_signal,
            on_commit=self._committed,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
        )
        self._listener = HeadListener(
            pool=self.connection_pool,
            channel=table_parameters.channel,
            head_query=self._queries.head,
            head_signal=self._head_signal,
        )

        try:
            with self._connection() as connection:
                try:
                    migrate(connection, table_parameters)
                except psycopg.errors.InsufficientPrivilege as error:
                    raise privilege_error(error, connection.info.user) from None
        except BaseException:
            self.close()
            raise

    # Lifecycle ----------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with storage_errors(), self.connection_pool.connection(self._pool_timeout) as connection:
            yield connection

    def close(self) -> None:
        """Stop the listener and close the pool if the adapter opened it."""
        self._listener.close()
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
        return self._group_commit.write(target, events, conditions)

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
                # The budget is applied in SQL (see Queries.budgeted_page): PostgreSQL
                # sends a whole result at once, so rows past it must never leave the server.
                query, parameters = self._queries.budgeted_page(
                    target, after, last_position, size, budget, first=budget == max_bytes
                )
            with self._connection() as connection:
                # Binary results: ints and timestamps load without parsing text.
                rows = connection.execute(query, parameters, binary=True).fetchall()
            records = [record_from_row(row) for row in rows]
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
            return single_int(connection.execute(self._queries.head).fetchone())

    def list_categories(self, *, after: str | None = None, limit: int) -> Sequence[CategorySummary]:
        with self._connection() as connection:
            return self._listing.categories(connection, after, limit)

    def list_streams(
        self, *, category: str, prefix: str = "", after: str | None = None, limit: int
    ) -> Sequence[StreamSummary]:
        with self._connection() as connection:
            return self._listing.streams(connection, category, prefix, after, limit)

    def summary(self) -> StoreSummary:
        with self._connection() as connection:
            return self._listing.summary(connection)

    # Wake-ups -----------------------------------------------------------------------------

    def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        self._listener.ensure_started()
        return self._head_signal.wait(known_head, timeout, self.head)
