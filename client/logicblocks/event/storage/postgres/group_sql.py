"""The SQL of the consumer groups' tables of one events table, and their rows.

What the statements rely on (``groups_async`` runs them):

- Every change first reads its group's row ``FOR SHARE``. A reset or a delete changes
  that row first, so it waits for the changes in flight and they wait for it: a claim or
  a save never lands half before and half after a reset, and nothing is written for a
  group being deleted. The child rows are deleted by later statements than the group's
  row, so their snapshot sees every change that committed while the first one waited.
- A claim is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` (the lease is free, the
  member's own, or ended): PostgreSQL locks the row and judges the condition on its latest
  version, so of two servers claiming at once exactly one gets a row back.
- A save, renew or release locks the member's partition rows in partition order before
  writing, so two of them never wait on each other in a cycle.
"""

from typing import Any

from psycopg import sql

from logicblocks.event.store.groups import ParkedEvent

from .tables import TableParameters

__all__ = ["GroupQueries", "parked_columns", "parked_from_row"]

_DEFINITION = sql.SQL("name, target, start, start_after, settings, generation")
_PARKED = (
    "sequence_number",
    "event_id",
    "category",
    "stream",
    "position",
    "partition_number",
    "reason",
    "attempts",
    "parked_at",
    "replaying",
)
_PARKED_TYPES = (
    "bigint",
    "text",
    "text",
    "text",
    "bigint",
    "integer",
    "text",
    "integer",
    "timestamptz",
    "boolean",
)


def _render(query: sql.Composable) -> str:
    # Plain text, so psycopg caches and prepares the statements run often.
    return query.as_string(None)


def parked_columns(events: list[ParkedEvent]) -> list[list[Any]]:
    """``events`` as one list per column of the parked table (``unnest``'s arguments)."""
    rows = [
        (
            event.sequence_number,
            event.event_id,
            event.category,
            event.stream,
            event.position,
            event.partition,
            event.reason,
            event.attempts,
            event.parked_at,
            event.replaying,
        )
        for event in events
    ]
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * len(_PARKED)


def parked_from_row(row: tuple[Any, ...]) -> ParkedEvent:
    """The parked event a row of the parked table's columns holds."""
    return ParkedEvent(*row)


class GroupQueries:
    """The groups' SQL for ``table_parameters``' tables, composed once; ``lock_timeout``
    and ``statement_timeout`` (seconds) bound each transaction."""

    def __init__(
        self, table_parameters: TableParameters, lock_timeout: float, statement_timeout: float
    ) -> None:
        groups = sql.Identifier(table_parameters.groups_table_name)
        members = sql.Identifier(table_parameters.group_members_table_name)
        partitions = sql.Identifier(table_parameters.group_partitions_table_name)
        parked = sql.Identifier(table_parameters.group_parked_table_name)
        names = {
            "groups": groups,
            "members": members,
            "partitions": partitions,
            "parked": parked,
            "definition": _DEFINITION,
            "parked_columns": sql.SQL(", ").join(sql.Identifier(c) for c in _PARKED),
            "p_parked_columns": sql.SQL(", ").join(sql.Identifier("p", c) for c in _PARKED),
        }

        def text(template: str) -> str:
            return _render(sql.SQL(template).format(**names))

        # READ COMMITTED whatever the database's default: each statement must see what
        # committed while an earlier one waited for a lock (see the module's docstring).
        self.begin = _render(
            sql.SQL(
                "BEGIN ISOLATION LEVEL READ COMMITTED;"
                " SELECT set_config('lock_timeout', {}, true),"
                " set_config('statement_timeout', {}, true),"
                " set_config('idle_in_transaction_session_timeout', {}, true)"
            ).format(
                sql.Literal(f"{int(lock_timeout * 1000)}ms"),
                sql.Literal(f"{int(statement_timeout * 1000)}ms"),
                sql.Literal(f"{int(statement_timeout * 1000)}ms"),
            )
        )
        self.group_for_share = text(
            "SELECT generation, start_after FROM {groups} WHERE name = %s FOR SHARE"
        )
        self.definition = text("SELECT {definition} FROM {groups} WHERE name = %s")
        self.definitions = text("SELECT {definition} FROM {groups}")
        self.insert = text(
            "INSERT INTO {groups} ({definition}) VALUES (%s, %s, %s, %s, %s, 0)"
            " ON CONFLICT (name) DO NOTHING RETURNING {definition}"
        )
        self.update = text(
            "UPDATE {groups} SET settings = %s WHERE name = %s RETURNING {definition}"
        )
        self.reset = text(
            "UPDATE {groups} SET start = %s, start_after = %s, generation = generation + 1"
            " WHERE name = %s RETURNING {definition}"
        )
        self.forget_progress = text(
            "WITH leases AS (DELETE FROM {partitions} WHERE group_name = %(name)s)"
            " DELETE FROM {parked} WHERE group_name = %(name)s"
        )
        self.delete = text("DELETE FROM {groups} WHERE name = %s RETURNING name")
        self.delete_rest = text(
            "WITH leases AS (DELETE FROM {partitions} WHERE group_name = %(name)s),"
            " gone AS (DELETE FROM {members} WHERE group_name = %(name)s)"
            " DELETE FROM {parked} WHERE group_name = %(name)s"
        )
        self.beat = text(
            "INSERT INTO {members} (group_name, member, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (group_name, member) DO UPDATE SET expires_at = excluded.expires_at"
        )
        # SKIP LOCKED: a row another heartbeat holds is being refreshed or forgotten by
        # it; waiting for it could wait in a cycle with that heartbeat.
        self.forget_members = text(
            "DELETE FROM {members} AS m USING (SELECT member FROM {members}"
            " WHERE group_name = %(name)s AND expires_at < %(now)s FOR UPDATE SKIP LOCKED)"
            " AS gone WHERE m.group_name = %(name)s AND m.member = gone.member"
        )
        self.group_members = text("SELECT member FROM {members} WHERE group_name = %s")
        # The group's row joined to what is asked: no row at all means no group.
        self.live_members = text(
            "SELECT m.member FROM {groups} AS g LEFT JOIN {members} AS m"
            " ON m.group_name = g.name AND m.expires_at >= %s WHERE g.name = %s"
        )
        self.leave = text("DELETE FROM {members} WHERE group_name = %s AND member = %s")
        self.claim = text(
            "INSERT INTO {partitions} AS p (group_name, partition_number, owner, lease_until)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (group_name, partition_number) DO UPDATE SET"
            " owner = excluded.owner, lease_until = excluded.lease_until"
            " WHERE p.owner IS NULL OR p.owner = excluded.owner OR p.lease_until < %s"
            " RETURNING p.checkpoint, p.done, p.attempts"
        )
        owned = (
            "FROM (SELECT partition_number FROM {partitions}"
            " WHERE group_name = %(name)s AND owner = %(member)s"
            " AND partition_number = ANY(%(partitions)s::integer[])"
            " ORDER BY partition_number FOR UPDATE) AS l"
            " WHERE p.group_name = %(name)s AND p.partition_number = l.partition_number"
        )
        self.renew = text(
            "UPDATE {partitions} AS p SET lease_until = %(until)s "
            + owned
            + " RETURNING p.partition_number"
        )
        self.release = text(
            "UPDATE {partitions} AS p SET owner = NULL, lease_until = NULL " + owned
        )
        self.owned_for_update = text(
            "SELECT partition_number FROM {partitions} WHERE group_name = %s AND owner = %s"
            " ORDER BY partition_number FOR UPDATE"
        )
        self.save_progress = text(
            "UPDATE {partitions} AS p SET checkpoint = v.checkpoint, done = v.done,"
            " attempts = v.attempts"
            " FROM unnest(%s::integer[], %s::bigint[], %s::text[], %s::text[])"
            " AS v(partition_number, checkpoint, done, attempts)"
            " WHERE p.group_name = %s AND p.partition_number = v.partition_number"
        )
        unnested = ", ".join(f"%s::{kind}[]" for kind in _PARKED_TYPES)
        replaced = ", ".join(f"{column} = excluded.{column}" for column in _PARKED[1:])
        self.park = text(
            "INSERT INTO {parked} (group_name, {parked_columns})"
            f" SELECT %s, * FROM unnest({unnested})"
            f" ON CONFLICT (group_name, sequence_number) DO UPDATE SET {replaced}"
        )

        # Parked rows are locked in sequence-number order by every statement that changes
        # several (saves, replays, drops), so none of them waits on another in a cycle.
        def locked_parked(where: str) -> str:
            return (
                "(SELECT sequence_number FROM {parked} WHERE group_name = %(name)s AND "
                + where
                + " ORDER BY sequence_number FOR UPDATE) AS c"
                " WHERE p.group_name = %(name)s AND p.sequence_number = c.sequence_number"
            )

        self.unpark = text(
            "DELETE FROM {parked} AS p USING "
            + locked_parked(
                "sequence_number = ANY(%(numbers)s::bigint[])"
                " AND partition_number = ANY(%(partitions)s::integer[])"
            )
        )
        self.progress = text(
            "SELECT p.partition_number, p.checkpoint, p.done, p.attempts"
            " FROM {groups} AS g LEFT JOIN {partitions} AS p"
            " ON p.group_name = g.name AND p.checkpoint IS NOT NULL"
            " WHERE g.name = %s ORDER BY p.partition_number"
        )
        # The page is cut inside the lateral subquery, which walks the primary key in order:
        # a LIMIT over the join would sort every parked row after the cursor for each page.
        # LIMIT NULL is no limit; a missing group gives no row, one without such events a
        # row of NULLs.
        self.parked = text(
            "SELECT {p_parked_columns} FROM {groups} AS g LEFT JOIN LATERAL"
            " (SELECT * FROM {parked} AS q WHERE q.group_name = g.name"
            " AND q.sequence_number > %s ORDER BY q.sequence_number LIMIT %s) AS p ON true"
            " WHERE g.name = %s ORDER BY p.sequence_number"
        )
        self.parked_count = text(
            "SELECT (SELECT count(*) FROM {parked} AS p WHERE p.group_name = g.name)"
            " FROM {groups} AS g WHERE g.name = %s"
        )
        self.replaying = text(
            "SELECT {p_parked_columns} FROM {groups} AS g LEFT JOIN {parked} AS p"
            " ON p.group_name = g.name AND p.replaying"
            " AND p.partition_number = ANY(%s::integer[])"
            " WHERE g.name = %s ORDER BY p.sequence_number"
        )
        # Chosen: all of the group's (a NULL array), or those numbered in the array.
        chosen = locked_parked(
            "(%(numbers)s::bigint[] IS NULL OR sequence_number = ANY(%(numbers)s::bigint[]))"
        )
        self.replay = text("UPDATE {parked} AS p SET replaying = true FROM " + chosen)
        self.drop = text("DELETE FROM {parked} AS p USING " + chosen)
