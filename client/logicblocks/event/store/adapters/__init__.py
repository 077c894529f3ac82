"""Storage adapters: where the events live."""

from .base import RecordStorageAdapter, Saveable, Scannable, StorageAdapter
from .grpc import GrpcStorageAdapter
from .grpc_async import AsyncGrpcStorageAdapter
from .in_memory import InMemoryStorageAdapter
from .postgres import ConnectionParameters, PostgresStorageAdapter, TableParameters
from .sqlite import SqliteStorageAdapter

__all__ = [
    "AsyncGrpcStorageAdapter",
    "ConnectionParameters",
    "GrpcStorageAdapter",
    "InMemoryStorageAdapter",
    "PostgresStorageAdapter",
    "RecordStorageAdapter",
    "Saveable",
    "Scannable",
    "SqliteStorageAdapter",
    "StorageAdapter",
    "TableParameters",
]
