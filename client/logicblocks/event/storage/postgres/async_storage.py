"""``AsyncPostgresStorage``: the PostgreSQL engine answering in the server's event loop.

The server serves a ``PostgresStorageAdapter`` through this twin (see
``PostgresStorageAdapter.asynchronous``): the same table, connection settings and
timeouts, on an asynchronous pool of its own. A publish then never leaves the loop: its
group commit is an ``AsyncGroupCommit`` whose transaction the loop drives, with no
executor thread, condition variable or GIL hand-over on the way.
"""

from collections.abc import Sequence, Set
from datetime import datetime
from typing import Any

import psycopg
import psycopg_pool

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.exceptions import StorageUnavailableError
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord

from ..asynchronous import AsyncRecordStorage, CommitObserver, tell_commit, tell_records
from .connection import new_async_pool
from .groups_async import AsyncPostgresGroupRecords
from .records_async import AsyncPostgresRecords
from .tables import TableParameters

__all__ = ["AsyncPostgresStorage"]


class AsyncPostgresStorage(AsyncRecordStorage):
    """The engine on ``table_parameters``' table, reached with ``conninfo`` and
    ``connection_kwargs``; the schema must be migrated already (the blocking adapter it
    twins did that). ``open()`` opens its pool, ``close()`` closes it."""

    def __init__(
        self,
        *,
        conninfo: str,
        connection_kwargs: dict[str, Any],
        table_parameters: TableParameters,
        lock_timeout: float,
        statement_timeout: float,
        pool_timeout: float,
        max_pool_size: int,
    ) -> None:
        self._conninfo = conninfo
        self._connection_kwargs = connection_kwargs
        self._table_parameters = table_parameters
        self._lock_timeout = lock_timeout
        self._statement_timeout = statement_timeout
        self._pool_timeout = pool_timeout
        self._max_pool_size = max_pool_size
        self._observer: CommitObserver | None = None
        self._pool: psycopg_pool.AsyncConnectionPool[Any] | None = None
        self._records_opened: AsyncPostgresRecords | None = None
        self._groups_opened: AsyncPostgresGroupRecords | None = None

    @property
    def commit_observer(self) -> CommitObserver | None:
        return self._observer

    @commit_observer.setter
    def commit_observer(self, observer: CommitObserver | None) -> None:
        self._observer = observer

    def _committed(self, records: Sequence[EventRecord]) -> None:
        tell_commit(self._observer, len(records))
        tell_records(self.records_observer, records)

    @property
    def _records(self) -> AsyncPostgresRecords:
        if self._records_opened is None:
            raise StorageUnavailableError("PostgreSQL storage is not open")
        return self._records_opened

    def group_records(self) -> AsyncPostgresGroupRecords:
        """The consumer groups kept beside the events, awaited on this storage's pool
        (``PostgresStorageAdapter.group_records``' twin); only while open."""
        if self._groups_opened is None:
            raise StorageUnavailableError("PostgreSQL storage is not open")
        return self._groups_opened

    @property
    def waiting_publishes(self) -> int:
        """How many publishes wait for a group (for tests that line publishes up)."""
        return self._records.waiting_publishes

    async def open(self) -> None:
        pool = new_async_pool(
            self._conninfo,
            self._connection_kwargs,
            max_size=self._max_pool_size,
            timeout=self._pool_timeout,
        )
        try:
            await pool.open(wait=False)
        except psycopg.OperationalError as error:
            raise StorageUnavailableError(f"PostgreSQL is unavailable: {error}") from error
        self._pool = pool
        self._records_opened = AsyncPostgresRecords(
            pool=pool,
            table_parameters=self._table_parameters,
            on_commit=self._committed,
            lock_timeout=self._lock_timeout,
            statement_timeout=self._statement_timeout,
            pool_timeout=self._pool_timeout,
        )
        self._groups_opened = AsyncPostgresGroupRecords(
            pool=pool,
            table_parameters=self._table_parameters,
            lock_timeout=self._lock_timeout,
            statement_timeout=self._statement_timeout,
            pool_timeout=self._pool_timeout,
        )

    async def close(self) -> None:
        records, self._records_opened = self._records_opened, None
        self._groups_opened = None
        pool, self._pool = self._pool, None
        if records is not None:
            await records.close()
        if pool is not None:
            await pool.close()

    async def write_streams(
        self, *, writes: Sequence[PendingWrite], conditions: Set[WriteCondition]
    ) -> Sequence[EventRecord]:
        return await self._records.write_streams(writes=writes, conditions=conditions)

    async def after_sequence_number_since(self, since: datetime) -> int:
        return await self._records.after_sequence_number_since(since)

    async def read_page(
        self, *, target: Scannable, after_sequence_number: int, limit: int, max_bytes: int | None
    ) -> list[EventRecord]:
        page: list[EventRecord] = []
        async for records in self._records.pages(target, after_sequence_number, limit, max_bytes):
            page.extend(records)
        return page

    async def head(self) -> int:
        return await self._records.head()

    async def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        return await self._records.wait_for_head_change(known_head, timeout)

    async def list_categories(self, *, after: str | None, limit: int) -> Sequence[CategorySummary]:
        return await self._records.list_categories(after=after, limit=limit)

    async def list_streams(
        self, *, category: str, prefix: str, after: str | None, limit: int
    ) -> Sequence[StreamSummary]:
        return await self._records.list_streams(
            category=category, prefix=prefix, after=after, limit=limit
        )

    async def summary(self) -> StoreSummary:
        return await self._records.summary()

    async def read_record_by_id(self, id: str) -> EventRecord | None:
        return await self._records.record_by_id(id)
