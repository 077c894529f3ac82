"""Storage adapters: where the events live."""

from .base import RecordStorageAdapter, Saveable, Scannable, StorageAdapter
from .in_memory import InMemoryStorageAdapter
from .sqlite import SqliteStorageAdapter

__all__ = [
    "InMemoryStorageAdapter",
    "RecordStorageAdapter",
    "Saveable",
    "Scannable",
    "SqliteStorageAdapter",
    "StorageAdapter",
]
