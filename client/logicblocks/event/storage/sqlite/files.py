"""Opening an event store's SQLite file: connecting, knowing the file for ours, the schema.

A file is an event store's when its header carries ``APPLICATION_ID``; its schema version
is the header's ``user_version``. A new, empty file is set up; a file of another
application, or with a newer schema than this code knows, is refused with
``StorageOpenError``. The schema is created inside a write transaction, so processes
opening the same new file at once set it up once.
"""

import os
import sqlite3
from pathlib import Path

from logicblocks.event.store.exceptions import StorageOpenError

from .group_tables import add_group_tables
from .queries import add_query_indexes
from .streams import add_streams_table

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "connect", "open_writer"]

# Recorded in the file header (PRAGMA user_version); raised by each schema change.
# 1: the events; 2: the streams table (``streams``); 3: tags and metadata, the tags table
# and the indexes that answer queries and reads from a time (``queries``); 4: the consumer
# groups' tables (``group_tables``).
SCHEMA_VERSION = 4
# Marks the file as an event store ("LBev"), so a foreign database is recognised as one.
APPLICATION_ID = int.from_bytes(b"LBev", "big")
# How long a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    sequence_number INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    stream TEXT NOT NULL,
    position INTEGER NOT NULL,
    payload TEXT NOT NULL,
    observed_at INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    UNIQUE (category, stream, position)
) STRICT;
CREATE INDEX IF NOT EXISTS events_by_category ON events (category, sequence_number);
CREATE INDEX IF NOT EXISTS events_by_stream ON events (category, stream, sequence_number);
"""


def _fail(path: Path, reason: str) -> StorageOpenError:
    return StorageOpenError(f"cannot open SQLite event store {str(path)!r}: {reason}")


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the file, in autocommit mode, waiting for other writers' locks."""
    # Autocommit mode: transactions are begun explicitly, so each publish is exactly one.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def open_writer(path: Path) -> sqlite3.Connection:
    """Open the file for writing: create it (and its folder), check it, set it up, migrate."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _fail(path, f"its folder cannot be created ({error})") from error
    if path.is_dir():
        raise _fail(path, "it is a directory")
    _check_writable(path)
    try:
        connection = connect(path)
    except sqlite3.Error as error:
        raise _fail(path, f"{error} (is the folder writable?)") from error
    try:
        _check_file(path, connection)
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise _fail(path, f"the file system does not support WAL mode (got {mode})")
        # FULL in WAL mode: every commit is fsynced before it returns.
        connection.execute("PRAGMA synchronous = FULL")
        _migrate(path, connection)
    except StorageOpenError:
        connection.close()
        raise
    except sqlite3.Error as error:
        connection.close()
        raise _fail(path, str(error)) from error
    return connection


def _check_writable(path: Path) -> None:
    """Refuse a file SQLite would open read-only without a word, to fail every write later.

    Judged where the file really is: SQLite follows a symbolic link and writes its journal
    beside the file it reaches, not beside the link.
    """
    path = Path(os.path.realpath(path))
    if not os.access(path.parent, os.W_OK):
        raise _fail(path, f"its folder {str(path.parent)!r} is read-only (SQLite writes beside it)")
    if path.exists() and not os.access(path, os.W_OK):
        raise _fail(path, "the file is read-only")


def _check_file(path: Path, connection: sqlite3.Connection) -> None:
    try:
        _check_identity(path, connection)
    except sqlite3.DatabaseError as error:
        if error.sqlite_errorcode == sqlite3.SQLITE_NOTADB:
            raise _fail(path, f"it is not a SQLite database ({error})") from error
        raise


def _check_identity(path: Path, connection: sqlite3.Connection) -> int:
    """Refuse a file that is not an event store's, or is newer; return its schema version."""
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
    ).fetchone()[0]
    if application_id == 0 and tables == 0:
        return version  # a new, empty database: ours to set up
    if application_id != APPLICATION_ID:
        raise _fail(path, "it is a SQLite database of another application, not an event store")
    if version > SCHEMA_VERSION:
        raise _fail(
            path,
            f"its schema version {version} is newer than this code knows "
            f"({SCHEMA_VERSION}); upgrade the event store",
        )
    return version


def _migrate(path: Path, connection: sqlite3.Connection) -> None:
    # Checked again under the write lock: another process may have set the file up.
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = _check_identity(path, connection)
        if version < 1:
            # executescript would commit first; run the statements inside this transaction.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
        if version < 2:
            add_streams_table(connection)
        if version < 3:
            add_query_indexes(connection)
        if version < 4:
            add_group_tables(connection)
        if version < SCHEMA_VERSION:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
