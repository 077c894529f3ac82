"""Storage adapters: where the events live."""

from .base import RecordStorageAdapter, Saveable, Scannable, StorageAdapter
from .in_memory import InMemoryStorageAdapter

__all__ = [
    "InMemoryStorageAdapter",
    "RecordStorageAdapter",
    "Saveable",
    "Scannable",
    "StorageAdapter",
]
