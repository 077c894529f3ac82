"""The schema of one events table: its migrations, and the version recorded beside it.

Each migration runs once, in order, in the transaction that records its version in the
table's ``<events>_schema_version`` table, under the writers' advisory lock, so processes
starting at the same time neither race nor apply a step twice.
"""

from typing import Any

import psycopg
from psycopg import sql

from logicblocks.event.store.exceptions import StorageOpenError

from .tables import TableParameters

__all__ = ["SCHEMA_VERSION", "migrate", "privilege_error"]

SCHEMA_VERSION = 4

_LOCK = sql.SQL("SELECT pg_advisory_xact_lock(%s)")


def _migrations(table_parameters: TableParameters) -> list[tuple[int, str, list[sql.Composed]]]:
    """Each schema version, its description and its statements, oldest first."""
    table = sql.Identifier(table_parameters.events_table_name)
    streams = sql.Identifier(table_parameters.streams_table_name)
    tags = sql.Identifier(table_parameters.tags_table_name)
    name = table_parameters.events_table_name

    def index(suffix: str) -> sql.Identifier:
        return sql.Identifier(f"{name}_{suffix}")

    return [
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
        (
            2,
            "streams table: each stream's last event, filled from the events",
            [
                # Collation "C": names are listed in code point order, as in every engine,
                # whatever the database's collation, and the key's index serves that order.
                sql.SQL(
                    "CREATE TABLE {} ("
                    ' category text COLLATE "C" NOT NULL,'
                    ' stream text COLLATE "C" NOT NULL,'
                    " last_position bigint NOT NULL,"
                    " last_sequence_number bigint NOT NULL,"
                    " last_observed_at timestamptz NOT NULL,"
                    " CONSTRAINT {} PRIMARY KEY (category, stream))"
                ).format(streams, sql.Identifier(f"{name}_streams_pkey")),
                # Each stream's last event, read backwards along (category, stream, position).
                sql.SQL(
                    "INSERT INTO {} (category, stream, last_position, last_sequence_number,"
                    " last_observed_at)"
                    " SELECT DISTINCT ON (category, stream) category, stream, position,"
                    " sequence_number, observed_at FROM {}"
                    " ORDER BY category, stream, position DESC"
                ).format(streams, table),
            ],
        ),
        (
            3,
            "tags and metadata columns, tags table, name and observed-at indexes",
            # IF NOT EXISTS throughout: a store recorded at an older version whose objects
            # of this step already exist (restored from a copy) migrates all the same.
            [
                # Adding nullable columns without a default rewrites nothing: events written
                # before this step read back with no tags and no metadata. Tags are JSON
                # array text (sorted, no repeats), metadata a json value like the payload.
                sql.SQL(
                    "ALTER TABLE {} ADD COLUMN IF NOT EXISTS tags text,"
                    " ADD COLUMN IF NOT EXISTS metadata json"
                ).format(table),
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " tag text NOT NULL,"
                    " sequence_number bigint NOT NULL,"
                    " CONSTRAINT {} PRIMARY KEY (tag, sequence_number))"
                ).format(tags, sql.Identifier(f"{name}_tags_pkey")),
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (name, sequence_number)").format(
                    index("name_idx"), table
                ),
                # Events are observed (nearly) in the order they are numbered, which is what
                # a BRIN index summarises cheaply: `since` finds its start without a scan.
                # autosummarize: each block range is summarised once filled, not only at
                # the next VACUUM (a range not yet summarised is read by every lookup).
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING brin (observed_at)"
                    " WITH (autosummarize = on)"
                ).format(index("observed_at_idx"), table),
            ],
        ),
        (
            4,
            "consumer groups: definitions, members, partition leases and progress, parked",
            _group_tables(table_parameters),
        ),
    ]


def _group_tables(table_parameters: TableParameters) -> list[sql.Composed]:
    """Schema version 4: the consumer groups' tables, empty (``groups_async``).

    Names are COLLATE "C" so they compare as the other engines compare them. Lease times
    are seconds since the epoch as the caller gives them (double precision, exact for a
    float); a partition row with a NULL ``checkpoint`` has a lease but no progress saved
    yet. Done sets and attempts are JSON array text, as SQLite stores them.
    """

    def table(table_name: str) -> tuple[sql.Identifier, sql.Identifier]:
        return sql.Identifier(table_name), sql.Identifier(f"{table_name}_pkey")

    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            ' name text COLLATE "C" NOT NULL,'
            " target text NOT NULL,"
            " start text NOT NULL,"
            " start_after bigint NOT NULL,"
            " settings text NOT NULL,"
            " generation bigint NOT NULL,"
            " CONSTRAINT {} PRIMARY KEY (name))"
        ).format(*table(table_parameters.groups_table_name)),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            ' group_name text COLLATE "C" NOT NULL,'
            ' member text COLLATE "C" NOT NULL,'
            " expires_at double precision NOT NULL,"
            " CONSTRAINT {} PRIMARY KEY (group_name, member))"
        ).format(*table(table_parameters.group_members_table_name)),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            ' group_name text COLLATE "C" NOT NULL,'
            " partition_number integer NOT NULL,"
            ' owner text COLLATE "C",'
            " lease_until double precision,"
            " checkpoint bigint,"
            " done text,"
            " attempts text,"
            " CONSTRAINT {} PRIMARY KEY (group_name, partition_number))"
        ).format(*table(table_parameters.group_partitions_table_name)),
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            ' group_name text COLLATE "C" NOT NULL,'
            " sequence_number bigint NOT NULL,"
            " event_id text NOT NULL,"
            " category text NOT NULL,"
            " stream text NOT NULL,"
            " position bigint NOT NULL,"
            " partition_number integer NOT NULL,"
            " reason text NOT NULL,"
            " attempts integer NOT NULL,"
            " parked_at timestamptz NOT NULL,"
            " replaying boolean NOT NULL,"
            " CONSTRAINT {} PRIMARY KEY (group_name, sequence_number))"
        ).format(*table(table_parameters.group_parked_table_name)),
    ]


def migrate(connection: psycopg.Connection[Any], table_parameters: TableParameters) -> None:
    """Create or upgrade the schema, once, whichever processes start at the same time."""
    versions = sql.Identifier(table_parameters.schema_version_table_name)
    with connection.transaction():
        connection.execute(_LOCK, (table_parameters.lock_key,))
        connection.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " version integer PRIMARY KEY,"
                " description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(versions)
        )
        row = connection.execute(sql.SQL("SELECT max(version) FROM {}").format(versions)).fetchone()
        current = 0 if row is None or row[0] is None else int(row[0])
        if current > SCHEMA_VERSION:
            raise StorageOpenError(
                f"table {table_parameters.events_table_name} has schema version "
                f"{current}, newer than this adapter's {SCHEMA_VERSION}: upgrade the library"
            )
        for version, description, statements in _migrations(table_parameters):
            if version <= current:
                continue
            for statement in statements:
                connection.execute(statement)
            connection.execute(
                sql.SQL("INSERT INTO {} (version, description) VALUES (%s, %s)").format(versions),
                (version, description),
            )


def privilege_error(error: psycopg.errors.InsufficientPrivilege, user: str) -> StorageOpenError:
    """The one-line reason a role may not set up or use the tables, with the grant it needs."""
    reason = error.diag.message_primary or str(error).splitlines()[0]
    schema = reason.rpartition(" for schema ")[2] if " for schema " in reason else None
    needed = (
        f"the CREATE privilege on schema {schema} (GRANT CREATE ON SCHEMA {schema} TO {user})"
        if schema is not None
        else "SELECT, INSERT and UPDATE on the event store's tables"
    )
    return StorageOpenError(f"PostgreSQL refused role {user}: {reason}; it needs {needed}")
