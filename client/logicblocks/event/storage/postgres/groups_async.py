"""``AsyncPostgresGroupRecords``: consumer groups kept in tables beside the events.

``groups_async.py`` is the source (awaited, on an ``AsyncConnectionPool``); ``groups.py``
(``PostgresGroupRecords``, the ``GroupRecords`` of ``PostgresStorageAdapter``) is generated
from it by ``scripts/async_to_sync.py``. Each change is one READ COMMITTED transaction and
each read one statement; why that is safe with several servers on one database, and how a
claim is a compare-and-set, is in ``group_sql``.
"""

from collections.abc import AsyncIterator, Sequence, Set
from contextlib import asynccontextmanager, suppress
from typing import Any

import psycopg
import psycopg_pool

from logicblocks.event.store.exceptions import GroupExistsError, GroupNotFoundError
from logicblocks.event.store.groups import GroupSettings, GroupStart, ParkedEvent
from logicblocks.event.store.start import NO_EVENTS

from ..group_columns import (
    attempts_text,
    definition_from_columns,
    numbers_text,
    progress_from_columns,
    settings_text,
    start_text,
    target_text,
)
from ..groups.records import GroupDefinition, PartitionProgress
from .connection import storage_errors
from .group_faces import AGroupRecords
from .group_sql import GroupQueries, parked_columns, parked_from_row
from .tables import TableParameters

__all__ = ["AsyncPostgresGroupRecords"]


class AsyncPostgresGroupRecords(AGroupRecords):
    """The groups of ``table_parameters``' events table, through ``pool`` (the caller's).

    ``lock_timeout`` and ``statement_timeout`` (seconds) bound each transaction and
    ``pool_timeout`` the wait for a connection; failures to reach the database raise
    ``StorageUnavailableError``.
    """

    def __init__(
        self,
        *,
        pool: psycopg_pool.AsyncConnectionPool[Any],
        table_parameters: TableParameters,
        lock_timeout: float,
        statement_timeout: float,
        pool_timeout: float,
    ) -> None:
        self._pool = pool
        self._pool_timeout = pool_timeout
        self._sql = GroupQueries(table_parameters, lock_timeout, statement_timeout)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with storage_errors():
            async with self._pool.connection(self._pool_timeout) as connection:
                yield connection

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection in a transaction, committed when the block ends."""
        async with self._connection() as connection:
            await connection.execute(self._sql.begin)
            try:
                yield connection
                await connection.commit()
            except BaseException:
                with suppress(psycopg.Error):  # the error that ended it matters
                    await connection.rollback()
                raise

    async def _group(self, connection: psycopg.AsyncConnection[Any], name: str) -> tuple[int, int]:
        """The group's generation and ``start_after``, its row held against a reset or a
        delete until the transaction ends."""
        cursor = await connection.execute(self._sql.group_for_share, (name,))
        row = await cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return int(row[0]), int(row[1])

    async def create(self, definition: GroupDefinition) -> GroupDefinition:
        """See ``GroupRecords.create``."""
        columns = (
            definition.name,
            target_text(definition.target),
            start_text(definition.start),
            definition.start_after,
            settings_text(definition.settings),
        )
        async with self._transaction() as connection:
            # Inserted, or found; found nothing means deleted in between: try again.
            while True:
                cursor = await connection.execute(self._sql.insert, columns)
                row = await cursor.fetchone()
                if row is not None:
                    return definition_from_columns(*row)
                cursor = await connection.execute(self._sql.definition, (definition.name,))
                row = await cursor.fetchone()
                if row is not None:
                    break
        existing = definition_from_columns(*row)
        if (existing.target, existing.start) != (definition.target, definition.start):
            raise GroupExistsError(definition.name)
        return existing

    async def update(self, name: str, settings: GroupSettings) -> GroupDefinition:
        """See ``GroupRecords.update``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.update, (settings_text(settings), name))
            row = await cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return definition_from_columns(*row)

    async def get(self, name: str) -> GroupDefinition:
        """See ``GroupRecords.get``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.definition, (name,))
            row = await cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return definition_from_columns(*row)

    async def all(self) -> Sequence[GroupDefinition]:
        """See ``GroupRecords.all``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.definitions)
            rows = await cursor.fetchall()
        # Sorted here: code point order whatever the database's encoding.
        return sorted((definition_from_columns(*row) for row in rows), key=lambda g: g.name)

    async def reset(self, name: str, start: GroupStart, start_after: int) -> GroupDefinition:
        """See ``GroupRecords.reset``."""
        async with self._transaction() as connection:
            cursor = await connection.execute(
                self._sql.reset, (start_text(start), start_after, name)
            )
            row = await cursor.fetchone()
            if row is None:
                raise GroupNotFoundError(name)
            await connection.execute(self._sql.forget_progress, {"name": name})
        return definition_from_columns(*row)

    async def delete(self, name: str) -> None:
        """See ``GroupRecords.delete``."""
        async with self._transaction() as connection:
            cursor = await connection.execute(self._sql.delete, (name,))
            if await cursor.fetchone() is None:
                raise GroupNotFoundError(name)
            await connection.execute(self._sql.delete_rest, {"name": name})

    async def heartbeat(
        self, name: str, member: str, *, now: float, expires_at: float
    ) -> list[str]:
        """See ``GroupRecords.heartbeat``."""
        async with self._transaction() as connection:
            await self._group(connection, name)
            await connection.execute(self._sql.beat, (name, member, expires_at))
            await connection.execute(self._sql.forget_members, {"name": name, "now": now})
            cursor = await connection.execute(self._sql.group_members, (name,))
            rows = await cursor.fetchall()
        return sorted(row[0] for row in rows)

    async def members(self, name: str, *, now: float) -> list[str]:
        """See ``GroupRecords.members``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.live_members, (now, name))
            rows = await cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return sorted(row[0] for row in rows if row[0] is not None)

    async def leave(self, name: str, member: str) -> None:
        """See ``GroupRecords.leave``."""
        async with self._connection() as connection:
            await connection.execute(self._sql.leave, (name, member))

    async def claim(
        self,
        name: str,
        *,
        generation: int,
        partition: int,
        member: str,
        now: float,
        lease_until: float,
    ) -> PartitionProgress | None:
        """See ``GroupRecords.claim``."""
        async with self._transaction() as connection:
            stored_generation, start_after = await self._group(connection, name)
            if stored_generation != generation:
                return None
            cursor = await connection.execute(
                self._sql.claim, (name, partition, member, lease_until, now)
            )
            row = await cursor.fetchone()
        if row is None:
            return None
        checkpoint, done, attempts = row
        if checkpoint is None:
            return PartitionProgress(partition=partition, checkpoint=start_after)
        return progress_from_columns(partition, checkpoint, done, attempts)

    async def renew(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        partitions: Set[int],
        lease_until: float,
    ) -> set[int]:
        """See ``GroupRecords.renew``."""
        async with self._transaction() as connection:
            if (await self._group(connection, name))[0] != generation:
                return set()
            cursor = await connection.execute(
                self._sql.renew,
                {
                    "until": lease_until,
                    "name": name,
                    "member": member,
                    "partitions": sorted(partitions),
                },
            )
            rows = await cursor.fetchall()
        return {int(row[0]) for row in rows}

    async def save(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        progress: Sequence[PartitionProgress],
        parked: Sequence[ParkedEvent] = (),
        unparked: Sequence[int] = (),
    ) -> set[int]:
        """See ``GroupRecords.save``."""
        async with self._transaction() as connection:
            if (await self._group(connection, name))[0] != generation:
                return set()
            cursor = await connection.execute(self._sql.owned_for_update, (name, member))
            owned = {int(row[0]) for row in await cursor.fetchall()}
            # The last entry of a partition (or of a parked number) wins, as when written
            # one by one; one statement cannot change a row twice.
            saved = {entry.partition: entry for entry in progress if entry.partition in owned}
            if saved:
                entries = list(saved.values())
                await connection.execute(
                    self._sql.save_progress,
                    (
                        [entry.partition for entry in entries],
                        [entry.checkpoint for entry in entries],
                        [numbers_text(entry.done) for entry in entries],
                        [attempts_text(entry.attempts) for entry in entries],
                        name,
                    ),
                )
            parking = {event.sequence_number: event for event in parked if event.partition in owned}
            if parking:
                # In sequence-number order, as every change of several parked rows locks them.
                await connection.execute(
                    self._sql.park,
                    (name, *parked_columns([parking[number] for number in sorted(parking)])),
                )
            if unparked and owned:
                # A replay is settled only by the owner of the stored row's partition.
                await connection.execute(
                    self._sql.unpark,
                    {"name": name, "numbers": sorted(set(unparked)), "partitions": sorted(owned)},
                )
        return set(saved)

    async def release(
        self, name: str, *, generation: int, member: str, partitions: Set[int]
    ) -> None:
        """See ``GroupRecords.release``."""
        async with self._transaction() as connection:
            if (await self._group(connection, name))[0] != generation:
                return
            await connection.execute(
                self._sql.release,
                {"name": name, "member": member, "partitions": sorted(partitions)},
            )

    async def progress(self, name: str) -> list[PartitionProgress]:
        """See ``GroupRecords.progress``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.progress, (name,))
            rows = await cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [progress_from_columns(*row) for row in rows if row[0] is not None]

    async def parked(
        self, name: str, *, after: int = NO_EVENTS, limit: int | None = None
    ) -> list[ParkedEvent]:
        """See ``GroupRecords.parked``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.parked, (after, limit, name))
            rows = await cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [parked_from_row(row) for row in rows if row[0] is not None]

    async def parked_count(self, name: str) -> int:
        """See ``GroupRecords.parked_count``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.parked_count, (name,))
            row = await cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        count: int = row[0]
        return count

    async def replaying(self, name: str, partitions: Set[int]) -> list[ParkedEvent]:
        """See ``GroupRecords.replaying``."""
        async with self._connection() as connection:
            cursor = await connection.execute(self._sql.replaying, (sorted(partitions), name))
            rows = await cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [parked_from_row(row) for row in rows if row[0] is not None]

    async def replay(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        """See ``GroupRecords.replay``."""
        return await self._change_parked(self._sql.replay, name, sequence_numbers)

    async def drop(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        """See ``GroupRecords.drop``."""
        return await self._change_parked(self._sql.drop, name, sequence_numbers)

    async def _change_parked(
        self, statement: str, name: str, sequence_numbers: Sequence[int] | None
    ) -> int:
        numbers = None if sequence_numbers is None else sorted(set(sequence_numbers))
        async with self._transaction() as connection:
            await self._group(connection, name)
            cursor = await connection.execute(statement, {"name": name, "numbers": numbers})
            return cursor.rowcount
