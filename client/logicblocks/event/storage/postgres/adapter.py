"""``PostgresStorageAdapter``: the engine's blocking face behind ``RecordStorageAdapter``.

Its operations are ``PostgresRecords`` and, for consumer groups, ``PostgresGroupRecords``
(generated from the asynchronous sources the server runs, so the logic exists once); this
module adds the pool it may own and the schema."""

from collections.abc import Iterator, Sequence, Set
from concurrent.futures import Executor
from datetime import datetime
from typing import Any

import psycopg
import psycopg_pool

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import ConfigurationError
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord
from logicblocks.event.store.start import NO_EVENTS
from logicblocks.event.types import identifier

from ..asynchronous import AsyncRecordStorage
from ..engine import RecordStorageAdapter
from ..groups.records import GroupRecords
from .async_storage import AsyncPostgresStorage
from .connection import (
    ConnectionParameters,
    ConnectionSource,
    connect_arguments,
    open_pool,
    storage_errors,
)
from .groups import PostgresGroupRecords
from .records import PostgresRecords
from .schema import migrate, privilege_error
from .tables import TableParameters

__all__ = ["PostgresStorageAdapter"]

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
        self._timeouts = (lock_timeout, statement_timeout, pool_timeout)
        self._records = PostgresRecords(
            pool=self.connection_pool,
            table_parameters=table_parameters,
            on_commit=lambda records: self._committed(len(records)),
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            pool_timeout=pool_timeout,
        )
        self._groups = PostgresGroupRecords(
            pool=self.connection_pool,
            table_parameters=table_parameters,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            pool_timeout=pool_timeout,
        )
        try:
            with storage_errors(), self.connection_pool.connection(pool_timeout) as connection:
                try:
                    migrate(connection, table_parameters)
                except psycopg.errors.InsufficientPrivilege as error:
                    raise privilege_error(error, connection.info.user) from None
        except BaseException:
            self.close()
            raise

    # Lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the listener and close the pool if the adapter opened it."""
        self._records.close()
        if self.connection_pool_owner:
            self.connection_pool.close()

    def asynchronous(self, executor: Executor) -> AsyncRecordStorage:
        """An ``AsyncPostgresStorage`` on the same table and database, with the same
        timeouts and pool size, on a pool of its own (see ``async_storage``)."""
        conninfo, connection_kwargs = connect_arguments(self.connection_pool)
        lock_timeout, statement_timeout, pool_timeout = self._timeouts
        return AsyncPostgresStorage(
            conninfo=conninfo,
            connection_kwargs=connection_kwargs,
            table_parameters=self.table_parameters,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            pool_timeout=pool_timeout,
            max_pool_size=self.connection_pool.max_size,
        )

    # Consumer groups ----------------------------------------------------------------------

    def group_records(self) -> GroupRecords:
        """The groups kept in tables beside the events (``PostgresGroupRecords``), on
        this adapter's pool: every server on the database shares them."""
        return self._groups

    # Records ------------------------------------------------------------------------------

    def write_streams(
        self,
        *,
        writes: Sequence[PendingWrite],
        conditions: Set[WriteCondition] = frozenset(),
    ) -> Sequence[EventRecord]:
        return self._records.write_streams(writes=writes, conditions=conditions)

    def after_sequence_number_since(self, since: datetime) -> int:
        return self._records.after_sequence_number_since(since)

    def read_records(
        self,
        *,
        target: Scannable = identifier.Log(),
        after_sequence_number: int = NO_EVENTS,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[EventRecord]:
        return (
            record
            for page in self._records.pages(target, after_sequence_number, limit, max_bytes)
            for record in page
        )

    def count_records(self, *, target: Scannable, after_sequence_number: int, through: int) -> int:
        if through <= after_sequence_number:
            return 0
        match target:
            case identifier.Category(category=category):
                return self._records.count("category", (category, after_sequence_number, through))
            case identifier.Stream(category=category, stream=stream):
                parameters = (category, stream, after_sequence_number, through)
                return self._records.count("stream", parameters)
        return super().count_records(
            target=target, after_sequence_number=after_sequence_number, through=through
        )

    def head(self) -> int:
        return self._records.head()

    def list_categories(self, *, after: str | None = None, limit: int) -> Sequence[CategorySummary]:
        return self._records.list_categories(after=after, limit=limit)

    def list_streams(
        self, *, category: str, prefix: str = "", after: str | None = None, limit: int
    ) -> Sequence[StreamSummary]:
        return self._records.list_streams(
            category=category, prefix=prefix, after=after, limit=limit
        )

    def summary(self) -> StoreSummary:
        return self._records.summary()

    def read_record_by_id(self, id: str) -> EventRecord | None:
        return self._records.record_by_id(id)

    def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        return self._records.wait_for_head_change(known_head, timeout)
