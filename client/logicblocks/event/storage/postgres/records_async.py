"""``AsyncPostgresRecords``: the engine's operations on one table, over a connection pool.

``records_async.py`` is the source (``AsyncPostgresRecords`` on an
``AsyncConnectionPool``, run by the server in its event loop); ``records.py``
(``PostgresRecords`` on a ``ConnectionPool``, for the in-process ``PostgresStorageAdapter``)
is generated from it by ``scripts/async_to_sync.py``. Writes go through group commit;
reads are keyset pages (``PagePlan``); wake-ups come from the ``LISTEN`` connection.
"""

from collections.abc import AsyncIterator, Callable, Sequence, Set
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import psycopg
import psycopg_pool

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord

from ..head_signal_async import AsyncHeadSignal
from .connection import connect_arguments, storage_errors
from .group_commit_async import AsyncGroupCommit
from .listener_async import AsyncHeadListener
from .listing import Listing
from .page_plan import PagePlan
from .queries import CountKind, Queries, json_text, record_from_row, single_int
from .tables import TableParameters

__all__ = ["AsyncPostgresRecords"]


class AsyncPostgresRecords:
    """What ``RecordStorageAdapter`` asks of an engine, on one table, through ``pool``.

    The pool stays the caller's. ``on_commit`` is given the records of each commit (in
    commit order, before waiters of ``wait_for_head_change`` wake); ``lock_timeout`` and
    ``statement_timeout`` (seconds) bound each write transaction and ``pool_timeout`` the
    wait for a connection.
    """

    def __init__(
        self,
        *,
        pool: psycopg_pool.AsyncConnectionPool[Any],
        table_parameters: TableParameters,
        on_commit: Callable[[Sequence[EventRecord]], None],
        lock_timeout: float,
        statement_timeout: float,
        pool_timeout: float,
    ) -> None:
        self._pool = pool
        self._pool_timeout = pool_timeout
        self._queries = Queries(table_parameters)
        self._listing = Listing(table_parameters)
        self._head_signal = AsyncHeadSignal()
        self._group_commit = AsyncGroupCommit(
            connection=self._connection,
            queries=self._queries,
            table_parameters=table_parameters,
            head_signal=self._head_signal,
            on_commit=on_commit,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
        )
        conninfo, connection_kwargs = connect_arguments(pool)
        self._listener = AsyncHeadListener(
            conninfo=conninfo,
            connection_kwargs=connection_kwargs,
            channel=table_parameters.channel,
            head_query=self._queries.head,
            head_signal=self._head_signal,
        )

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with storage_errors():
            async with self._pool.connection(self._pool_timeout) as connection:
                yield connection

    @property
    def waiting_publishes(self) -> int:
        """How many publishes wait for a group (for tests that line publishes up)."""
        return self._group_commit.waiting

    async def close(self) -> None:
        """Stop the ``LISTEN`` connection; the pool stays open (it is the caller's)."""
        await self._listener.close()

    async def write_streams(
        self, *, writes: Sequence[PendingWrite], conditions: Set[WriteCondition]
    ) -> Sequence[EventRecord]:
        """See ``RecordStorageAdapter.write_streams``."""
        return await self._group_commit.write(writes, conditions)

    async def after_sequence_number_since(self, since: datetime) -> int:
        """See ``RecordStorageAdapter.after_sequence_number_since``: the observed-at
        index answers."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._queries.after_since, (since,))
            return single_int(await cursor.fetchone())

    async def pages(
        self, target: Scannable, after: int, limit: int | None, max_bytes: int | None
    ) -> AsyncIterator[list[EventRecord]]:
        """The records of ``RecordStorageAdapter.read_records``, a page at a time."""
        plan = PagePlan(self._queries, target, after, limit, max_bytes)
        while (page := plan.next_query()) is not None:
            query, parameters = page
            async with self._connection() as connection:
                # Binary results: ints and timestamps load without parsing text.
                cursor = await connection.execute(query, parameters, binary=True)
                rows = await cursor.fetchall()
            records = plan.take(rows)
            del rows
            yield records

    async def count(self, kind: CountKind, parameters: tuple[Any, ...]) -> int:
        """A count of ``Queries.counts`` (``RecordStorageAdapter.count_records``)."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._queries.counts[kind], parameters)
            return single_int(await cursor.fetchone())

    async def head(self) -> int:
        """See ``RecordStorageAdapter.head``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._queries.head)
            return single_int(await cursor.fetchone())

    async def list_categories(self, *, after: str | None, limit: int) -> Sequence[CategorySummary]:
        """See ``RecordStorageAdapter.list_categories``."""
        async with self._connection() as connection:
            cursor = await connection.execute(*self._listing.categories(after, limit))
            return self._listing.categories_from_rows(await cursor.fetchall())

    async def list_streams(
        self, *, category: str, prefix: str, after: str | None, limit: int
    ) -> Sequence[StreamSummary]:
        """See ``RecordStorageAdapter.list_streams``."""
        async with self._connection() as connection:
            cursor = await connection.execute(
                *self._listing.streams(category, prefix, after, limit)
            )
            return self._listing.streams_from_rows(category, await cursor.fetchall())

    async def summary(self) -> StoreSummary:
        """See ``RecordStorageAdapter.summary``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._listing.summary)
            return self._listing.summary_from_row(await cursor.fetchone())

    async def record_by_id(self, id: str) -> EventRecord | None:
        """See ``RecordStorageAdapter.read_record_by_id``: the index of ids answers."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._queries.records_by_id, (json_text([id]),))
            row = await cursor.fetchone()
        return None if row is None else record_from_row(row)

    async def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        """See ``RecordStorageAdapter.wait_for_head_change``: woken by ``NOTIFY``."""
        self._listener.ensure_started()
        return await self._head_signal.wait(known_head, timeout, self.head)
