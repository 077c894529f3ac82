"""The reader connections: a small pool of read-only connections to the file.

In WAL mode each reader reads a committed snapshot and never blocks the writer, so reads
borrow a connection of their own rather than share the writer's.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logicblocks.event.store.exceptions import StorageUnavailableError

from .files import connect

__all__ = ["ReaderPool"]

# Idle reader connections kept open for reuse; more are opened when needed, then closed.
MAX_IDLE_READERS = 8


class ReaderPool:
    """Lends read-only connections to the file at ``path``; ``close()`` closes them all."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._closed = False
        self._idle: list[sqlite3.Connection] = []

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A connection for one read; a failed read raises ``StorageUnavailableError``."""
        with self._lock:
            if self._closed:
                raise StorageUnavailableError(f"the SQLite event store {self._path} is closed")
            connection = self._idle.pop() if self._idle else None
        try:
            if connection is None:
                connection = connect(self._path)
                connection.execute("PRAGMA query_only = ON")
            yield connection
        except sqlite3.OperationalError as error:
            raise StorageUnavailableError(f"SQLite read failed: {error}") from error
        finally:
            if connection is not None:
                with self._lock:
                    keep = not self._closed and len(self._idle) < MAX_IDLE_READERS
                    if keep:
                        self._idle.append(connection)
                if not keep:
                    connection.close()

    def close(self) -> None:
        """Close the idle connections; those lent out close when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
