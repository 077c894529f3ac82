"""Storage adapters: where the events live."""

from .base import RecordStorageAdapter, Saveable, Scannable, StorageAdapter
from .grpc import GrpcStorageAdapter
from .in_memory import InMemoryStorageAdapter
from .sqlite import SqliteStorageAdapter

__all__ = [
    "GrpcStorageAdapter",
    "InMemoryStorageAdapter",
    "RecordStorageAdapter",
    "Saveable",
    "Scannable",
    "SqliteStorageAdapter",
    "StorageAdapter",
]
