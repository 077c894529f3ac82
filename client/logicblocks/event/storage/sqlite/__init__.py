"""The SQLite engine: the embedded, durable default, one file on local disk.

The parts: ``files`` (connecting, knowing the file for an event store's, the schema and its
version), ``readers`` (the pool of read-only connections), ``rows`` (an event as a row),
``streams`` (each stream's last event), ``queries`` (the tags table and the statements that
answer a query from indexes), ``writing`` (a publish inside the write transaction),
``group_tables`` and ``groups`` (the consumer groups' tables and ``SqliteGroupRecords``)
and ``adapter`` (``SqliteStorageAdapter``: durability, the one writer, and the reads).
"""

from logicblocks.event.store.exceptions import StorageOpenError

from .adapter import SqliteStorageAdapter
from .files import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SqliteStorageAdapter", "StorageOpenError"]
