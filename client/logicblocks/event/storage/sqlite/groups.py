"""``SqliteGroupRecords``: consumer groups kept in the event store's SQLite file.

Every change is one ``BEGIN IMMEDIATE`` transaction on the adapter's writer connection,
under its write lock: SQLite's write lock orders it against every other writer, in this
process or another one on the same file, so a claim's compare-and-set (the lease is free,
already the member's, or ended) is read and written with nothing in between. Reads borrow
a reader connection and see a committed snapshot.
"""

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Sequence, Set
from contextlib import AbstractContextManager

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
from ..groups.records import GroupDefinition, GroupRecords, PartitionProgress
from .group_tables import DEFINITION, PARKED, parked_from_row, parked_row

__all__ = ["SqliteGroupRecords", "Transaction"]

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]
"""Opens a transaction (a write one, committed at the end, or a read) on a connection."""

# A free lease, the member's own, or one that ended: the claim's compare-and-set.
_CLAIM = """
INSERT INTO group_partitions (group_name, partition_number, owner, lease_until)
VALUES (?, ?, ?, ?)
ON CONFLICT (group_name, partition_number) DO UPDATE SET
    owner = excluded.owner, lease_until = excluded.lease_until
WHERE group_partitions.owner IS NULL OR group_partitions.owner = excluded.owner
    OR group_partitions.lease_until < ?
RETURNING checkpoint, done, attempts
"""

_OWNED = "group_name = ? AND owner = ? AND partition_number IN (SELECT value FROM json_each(?))"


def _json(numbers: Set[int] | Sequence[int]) -> str:
    return json.dumps(sorted(numbers))


class SqliteGroupRecords(GroupRecords):
    """Groups in the SQLite file: ``write`` opens a write transaction on the writer
    connection (committed when the block ends, rolled back on an error), ``read`` lends a
    reader connection."""

    def __init__(self, *, write: Transaction, read: Transaction) -> None:
        self._write = write
        self._read = read

    @staticmethod
    def _group(connection: sqlite3.Connection, name: str) -> tuple[int, int]:
        """The group's generation and ``start_after``."""
        row = connection.execute(
            "SELECT generation, start_after FROM consumer_groups WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return int(row[0]), int(row[1])

    def create(self, definition: GroupDefinition) -> GroupDefinition:
        with self._write() as connection:
            row = connection.execute(
                f"SELECT {DEFINITION} FROM consumer_groups WHERE name = ?", (definition.name,)
            ).fetchone()
            if row is None:
                connection.execute(
                    f"INSERT INTO consumer_groups ({DEFINITION}) VALUES (?, ?, ?, ?, ?, 0)",
                    (
                        definition.name,
                        target_text(definition.target),
                        start_text(definition.start),
                        definition.start_after,
                        settings_text(definition.settings),
                    ),
                )
                return dataclasses.replace(definition, generation=0)
        existing = definition_from_columns(*row)
        if (existing.target, existing.start) != (definition.target, definition.start):
            raise GroupExistsError(definition.name)
        return existing

    def update(self, name: str, settings: GroupSettings) -> GroupDefinition:
        with self._write() as connection:
            rows = connection.execute(
                f"UPDATE consumer_groups SET settings = ? WHERE name = ? RETURNING {DEFINITION}",
                (settings_text(settings), name),
            ).fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return definition_from_columns(*rows[0])

    def get(self, name: str) -> GroupDefinition:
        with self._read() as connection:
            row = connection.execute(
                f"SELECT {DEFINITION} FROM consumer_groups WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        return definition_from_columns(*row)

    def all(self) -> Sequence[GroupDefinition]:
        with self._read() as connection:
            rows = connection.execute(
                f"SELECT {DEFINITION} FROM consumer_groups ORDER BY name"
            ).fetchall()
        # BINARY collation orders UTF-8 bytes: code point order.
        return [definition_from_columns(*row) for row in rows]

    def reset(self, name: str, start: GroupStart, start_after: int) -> GroupDefinition:
        with self._write() as connection:
            rows = connection.execute(
                "UPDATE consumer_groups SET start = ?, start_after = ?,"
                f" generation = generation + 1 WHERE name = ? RETURNING {DEFINITION}",
                (start_text(start), start_after, name),
            ).fetchall()
            if not rows:
                raise GroupNotFoundError(name)
            connection.execute("DELETE FROM group_partitions WHERE group_name = ?", (name,))
            connection.execute("DELETE FROM group_parked WHERE group_name = ?", (name,))
        return definition_from_columns(*rows[0])

    def delete(self, name: str) -> None:
        with self._write() as connection:
            deleted = connection.execute("DELETE FROM consumer_groups WHERE name = ?", (name,))
            if deleted.rowcount == 0:
                raise GroupNotFoundError(name)
            for table in ("group_members", "group_partitions", "group_parked"):
                connection.execute(f"DELETE FROM {table} WHERE group_name = ?", (name,))

    def heartbeat(self, name: str, member: str, *, now: float, expires_at: float) -> list[str]:
        with self._write() as connection:
            self._group(connection, name)
            connection.execute(
                "INSERT INTO group_members (group_name, member, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (group_name, member) DO UPDATE SET expires_at = excluded.expires_at",
                (name, member, expires_at),
            )
            connection.execute(
                "DELETE FROM group_members WHERE group_name = ? AND expires_at < ?", (name, now)
            )
            rows = connection.execute(
                "SELECT member FROM group_members WHERE group_name = ? ORDER BY member", (name,)
            ).fetchall()
        return [row[0] for row in rows]

    def members(self, name: str, *, now: float) -> list[str]:
        # The group's row joined to its live members: no row at all means no group.
        with self._read() as connection:
            rows = connection.execute(
                "SELECT m.member FROM consumer_groups AS g LEFT JOIN group_members AS m"
                " ON m.group_name = g.name AND m.expires_at >= ? WHERE g.name = ?"
                " ORDER BY m.member",
                (now, name),
            ).fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [row[0] for row in rows if row[0] is not None]

    def leave(self, name: str, member: str) -> None:
        with self._write() as connection:
            connection.execute(
                "DELETE FROM group_members WHERE group_name = ? AND member = ?", (name, member)
            )

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
        with self._write() as connection:
            stored_generation, start_after = self._group(connection, name)
            if stored_generation != generation:
                return None
            rows = connection.execute(
                _CLAIM, (name, partition, member, lease_until, now)
            ).fetchall()
        if not rows:
            return None
        checkpoint, done, attempts = rows[0]
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
        with self._write() as connection:
            if self._group(connection, name)[0] != generation:
                return set()
            rows = connection.execute(
                f"UPDATE group_partitions SET lease_until = ? WHERE {_OWNED}"
                " RETURNING partition_number",
                (lease_until, name, member, _json(partitions)),
            ).fetchall()
        return {row[0] for row in rows}

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
        with self._write() as connection:
            if self._group(connection, name)[0] != generation:
                return set()
            owned = {
                row[0]
                for row in connection.execute(
                    "SELECT partition_number FROM group_partitions"
                    " WHERE group_name = ? AND owner = ?",
                    (name, member),
                )
            }
            connection.executemany(
                "UPDATE group_partitions SET checkpoint = ?, done = ?, attempts = ?"
                " WHERE group_name = ? AND partition_number = ?",
                [
                    (
                        entry.checkpoint,
                        numbers_text(entry.done),
                        attempts_text(entry.attempts),
                        name,
                        entry.partition,
                    )
                    for entry in progress
                    if entry.partition in owned
                ],
            )
            connection.executemany(
                f"INSERT OR REPLACE INTO group_parked (group_name, {PARKED})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [parked_row(name, event) for event in parked if event.partition in owned],
            )
            # A replay is settled only by the partition's owner: the stored row's partition.
            connection.executemany(
                "DELETE FROM group_parked WHERE group_name = ? AND sequence_number = ?"
                " AND partition_number IN (SELECT value FROM json_each(?))",
                [(name, number, _json(owned)) for number in unparked],
            )
        return {entry.partition for entry in progress if entry.partition in owned}

    def release(self, name: str, *, generation: int, member: str, partitions: Set[int]) -> None:
        with self._write() as connection:
            if self._group(connection, name)[0] != generation:
                return
            connection.execute(
                f"UPDATE group_partitions SET owner = NULL, lease_until = NULL WHERE {_OWNED}",
                (name, member, _json(partitions)),
            )

    def progress(self, name: str) -> list[PartitionProgress]:
        with self._read() as connection:
            rows = connection.execute(
                "SELECT p.partition_number, p.checkpoint, p.done, p.attempts"
                " FROM consumer_groups AS g LEFT JOIN group_partitions AS p"
                " ON p.group_name = g.name AND p.checkpoint IS NOT NULL"
                " WHERE g.name = ? ORDER BY p.partition_number",
                (name,),
            ).fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [progress_from_columns(*row) for row in rows if row[0] is not None]

    def parked(
        self, name: str, *, after: int = NO_EVENTS, limit: int | None = None
    ) -> list[ParkedEvent]:
        # LIMIT -1 is no limit in SQLite.
        return self._parked(
            name, " AND p.sequence_number > ?", after, limit=-1 if limit is None else limit
        )

    def parked_count(self, name: str) -> int:
        with self._read() as connection:
            row = connection.execute(
                "SELECT (SELECT count(*) FROM group_parked AS p WHERE p.group_name = g.name)"
                " FROM consumer_groups AS g WHERE g.name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise GroupNotFoundError(name)
        count: int = row[0]
        return count

    def replaying(self, name: str, partitions: Set[int]) -> list[ParkedEvent]:
        return self._parked(
            name,
            " AND p.replaying AND p.partition_number IN (SELECT value FROM json_each(?))",
            _json(partitions),
        )

    def _parked(
        self, name: str, condition: str, *parameters: object, limit: int = -1
    ) -> list[ParkedEvent]:
        columns = ", ".join(f"p.{column.strip()}" for column in PARKED.split(","))
        with self._read() as connection:
            rows = connection.execute(
                f"SELECT {columns} FROM consumer_groups AS g LEFT JOIN group_parked AS p"
                f" ON p.group_name = g.name{condition} WHERE g.name = ?"
                " ORDER BY p.sequence_number LIMIT ?",
                (*parameters, name, limit),
            ).fetchall()
        if not rows:
            raise GroupNotFoundError(name)
        return [parked_from_row(row) for row in rows if row[0] is not None]

    def replay(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        return self._change_parked(name, "UPDATE group_parked SET replaying = 1", sequence_numbers)

    def drop(self, name: str, sequence_numbers: Sequence[int] | None) -> int:
        return self._change_parked(name, "DELETE FROM group_parked", sequence_numbers)

    def _change_parked(self, name: str, change: str, sequence_numbers: Sequence[int] | None) -> int:
        with self._write() as connection:
            self._group(connection, name)
            if sequence_numbers is None:
                cursor = connection.execute(f"{change} WHERE group_name = ?", (name,))
            else:
                cursor = connection.execute(
                    f"{change} WHERE group_name = ?"
                    " AND sequence_number IN (SELECT value FROM json_each(?))",
                    (name, _json(set(sequence_numbers))),
                )
            return cursor.rowcount
