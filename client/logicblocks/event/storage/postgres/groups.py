# Generated from groups_async.py by scripts/async_to_sync.py: edit that file and run
# `make generate`, never this one.
"""``AsyncPostgresGroupRecords``: consumer groups kept in tables beside the events.

``groups_async.py`` is the source (awaited, on an ``AsyncConnectionPool``); ``groups.py``
(``PostgresGroupRecords``, the ``GroupRecords`` of ``PostgresStorageAdapter``) is generated
from it by ``scripts/async_to_sync.py``. Each change is one READ COMMITTED transaction and
each read one statement; why that is safe with several servers on one database, and how a
claim is a compare-and-set, is in ``group_sql``.
"""

from collections.abc import Iterator, Sequence, Set
from contextlib import contextmanager, suppress
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
from .group_faces import GroupRecords
from .group_sql import GroupQueries, parked_columns, parked_from_row
from .tables import TableParameters

__all__ = ["PostgresGroupRecords"]


class PostgresGroupRecords(GroupRecords):
    """The groups of ``table_parameters``' events table, through ``pool`` (the caller's).

    ``lock_timeout`` and ``statement_timeout`` (seconds) bound each transaction and
    ``pool_timeout`` the wait for a connection; failures to reach the database raise
    ``StorageUnavailableError``.
    """

    def __init__(
        self,
        *,
        pool: psycopg_pool.ConnectionPool[Any],
        table_parameters: TableParameters,
        lock_timeout: float,
        statement_timeout: float,
        pool_timeout: float,
    ) -> None:
        self._pool = pool
        self._pool_timeout = pool_timeout
        self._sql = GroupQueries(table_parameters, lock_timeout, statement_timeout)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with storage_errors(), self._pool.connection(self._pool_timeout) as connection:
            yield connection

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection in a transaction, committed when the block ends."""
        with self._connection() as connection:
            connection.execute(self._sql.begin)
            try:
                yield connection
                connection.commit()
            except BaseException:
                with suppress(psycopg.Error):  # the error that ended it matters
                    connection.rollback()
                raise

    def _group(self, connection: psycopg.Connection[Any], name: str) -> tuple[int, int]:
        """The group's generation and ``start_after``, its row held against a reset or a
        delete until the transaction ends."""
        cursor = connection.execute(self._sql.group_for_share, (name,))
        row = cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return int(row[0]), int(row[1])

    def create(self, definition: GroupDefinition) -> GroupDefinition:
        """See ``GroupRecords.create``."""
        columns = (
            definition.name,
            target_text(definition.target),
            start_text(definition.start),
            definition.start_after,
            settings_text(definition.settings),
        )
        with self._transaction() as connection:
            # Inserted, or found; found nothing means deleted in between: try again.
            while True:
                cursor = connection.execute(self._sql.insert, columns)
                row = cursor.fetchone()
                if row is not None:
                    return definition_from_columns(*row)
                cursor = connection.execute(self._sql.definition, (definition.name,))
                row = cursor.fetchone()
                if row is not None:
                    break
        existing = definition_from_columns(*row)
        if (existing.target, existing.start) != (definition.target, definition.start):
            raise GroupExistsError(definition.name)
        return existing

    def update(self, name: str, settings: GroupSettings) -> GroupDefinition:
        """See ``GroupRecords.update``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.update, (settings_text(settings), name))
            row = cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return definition_from_columns(*row)

    def get(self, name: str) -> GroupDefinition:
        """See ``GroupRecords.get``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.definition, (name,))
            row = cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return definition_from_columns(*row)

    def all(self) -> Sequence[GroupDefinition]:
        """See ``GroupRecords.all``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.definitions)
            rows = cursor.fetchall()
        # Sorted here: code point order whatever the database's encoding.
        return sorted((definition_from_columns(*row) for row in rows), key=lambda g: g.name)

    def reset(self, name: str, start: GroupStart, start_after: int) -> GroupDefinition:
        """See ``GroupRecords.reset``."""
        with self._transaction() as connection:
            cursor = connection.execute(self._sql.reset, (start_text(start), start_after, name))
            row = cursor.fetchone()
            if row is None:
                raise GroupNotFoundError(name)
            connection.execute(self._sql.forget_progress, {"name": name})
        return definition_from_columns(*row)

    def delete(self, name: str) -> None:
        """See ``GroupRecords.delete``."""
        with self._transaction() as connection:
            cursor = connection.execute(self._sql.delete, (name,))
            if cursor.fetchone() is None:
                raise GroupNotFoundError(name)
            connection.execute(self._sql.delete_rest, {"name": name})

    def heartbeat(self, name: str, member: str, *, now: float, expires_at: float) -> list[str]:
        """See ``GroupRecords.heartbeat``."""
        with self._transaction() as connection:
            self._group(connection, name)
            connection.execute(self._sql.beat, (name, member, expires_at))
            connection.execute(self._sql.forget_members, {"name": name, "now": now})
            cursor = connection.execute(self._sql.group_members, (name,))
            rows = cursor.fetchall()
        return sorted(row[0] for row in rows)

    def members(self, name: str, *, now: float) -> list[str]:
        """See ``GroupRecords.members``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.live_members, (now, name))
            rows = cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return sorted(row[0] for row in rows if row[0] is not None)

    def leave(self, name: str, member: str) -> None:
        """See ``GroupRecords.leave``."""
        with self._connection() as connection:
            connection.execute(self._sql.leave, (name, member))

    def claim(
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
        with self._transaction() as connection:
            stored_generation, start_after = self._group(connection, name)
            if stored_generation != generation:
                return None
            cursor = connection.execute(
                self._sql.claim, (name, partition, member, lease_until, now)
            )
            row = cursor.fetchone()
        if row is None:
            return None
        checkpoint, done, attempts = row
        if checkpoint is None:
            return PartitionProgress(partition=partition, checkpoint=start_after)
        return progress_from_columns(partition, checkpoint, done, attempts)

    def renew(
        self,
        name: str,
        *,
        generation: int,
        member: str,
        partitions: Set[int],
        lease_until: float,
    ) -> set[int]:
        """See ``GroupRecords.renew``."""
        with self._transaction() as connection:
            if (self._group(connection, name))[0] != generation:
                return set()
            cursor = connection.execute(
                self._sql.renew,
                {
                    "until": lease_until,
                    "name": name,
                    "member": member,
                    "partitions": sorted(partitions),
                },
            )
            rows = cursor.fetchall()
        return {int(row[0]) for row in rows}

    def save(
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
        with self._transaction() as connection:
            if (self._group(connection, name))[0] != generation:
                return set()
            cursor = connection.execute(self._sql.owned_for_update, (name, member))
            owned = {int(row[0]) for row in cursor.fetchall()}
            # The last entry of a partition (or of a parked number) wins, as when written
            # one by one; one statement cannot change a row twice.
            saved = {entry.partition: entry for entry in progress if entry.partition in owned}
            if saved:
                entries = list(saved.values())
                connection.execute(
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
                connection.execute(
                    self._sql.park,
                    (name, *parked_columns([parking[number] for number in sorted(parking)])),
                )
            if unparked and owned:
                # A replay is settled only by the owner of the stored row's partition.
                connection.execute(
                    self._sql.unpark,
                    {"name": name, "numbers": sorted(set(unparked)), "partitions": sorted(owned)},
                )
        return set(saved)

    def release(self, name: str, *, generation: int, member: str, partitions: Set[int]) -> None:
        """See ``GroupRecords.release``."""
        with self._transaction() as connection:
            if (self._group(connection, name))[0] != generation:
                return
            connection.execute(
                self._sql.release,
                {"name": name, "member": member, "partitions": sorted(partitions)},
            )

    def progress(self, name: str) -> list[PartitionProgress]:
        """See ``GroupRecords.progress``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.progress, (name,))
            rows = cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [progress_from_columns(*row) for row in rows if row[0] is not None]

    def parked(
        self, name: str, *, after: int = NO_EVENTS, limit: int | None = None
    ) -> list[ParkedEvent]:
        """See ``GroupRecords.parked``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.parked, (after, limit, name))
            rows = cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [parked_from_row(row) for row in rows if row[0] is not None]

    def parked_count(self, name: str) -> int:
        """See ``GroupRecords.parked_count``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.parked_count, (name,))
            row = cursor.fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        count: int = row[0]
        return count

    def replaying(self, name: str, partitions: Set[int]) -> list[ParkedEvent]:
        """See ``GroupRecords.replaying``."""
        with self._connection() as connection:
            cursor = connection.execute(self._sql.replaying, (sorted(partitions), name))
            rows = cursor.fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [parked_from_row(row) for row in rows if row[0] is not None]

    def replay(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        """See ``GroupRecords.replay``."""
        return self._change_parked(self._sql.replay, name, sequence_numbers)

    def drop(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        """See ``GroupRecords.drop``."""
        return self._change_parked(self._sql.drop, name, sequence_numbers)

    def _change_parked(
        self, statement: str, name: str, sequence_numbers: Sequence[int] | None
    ) -> int:
        numbers = None if sequence_numbers is None else sorted(set(sequence_numbers))
        with self._transaction() as connection:
            self._group(connection, name)
            cursor = connection.execute(statement, {"name": name, "numbers": numbers})
            return cursor.rowcount
