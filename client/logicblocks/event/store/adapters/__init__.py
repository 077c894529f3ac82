"""Storage adapters: where the events live. The documented import path for all of them.

The adapters themselves live where their layer does: the engines that hold events in
``logicblocks.event.storage``, the gRPC clients in ``logicblocks.event.transport``. Each is
imported on first use, so a program that only talks to a server never loads psycopg (the
``postgres`` extra) and one that only stores in process never loads gRPC.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .base import Saveable, Scannable, StorageAdapter

if TYPE_CHECKING:
    from logicblocks.event.storage.engine import RecordStorageAdapter
    from logicblocks.event.storage.memory import InMemoryStorageAdapter
    from logicblocks.event.storage.postgres import (
        ConnectionParameters,
        PostgresStorageAdapter,
        TableParameters,
    )
    from logicblocks.event.storage.sqlite import SqliteStorageAdapter
    from logicblocks.event.transport.client import GrpcStorageAdapter
    from logicblocks.event.transport.client_async import AsyncGrpcStorageAdapter

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

# Each name imported on first use, from the module that defines it.
_HOMES = {
    "AsyncGrpcStorageAdapter": "logicblocks.event.transport.client_async",
    "ConnectionParameters": "logicblocks.event.storage.postgres",
    "GrpcStorageAdapter": "logicblocks.event.transport.client",
    "InMemoryStorageAdapter": "logicblocks.event.storage.memory",
    "PostgresStorageAdapter": "logicblocks.event.storage.postgres",
    "RecordStorageAdapter": "logicblocks.event.storage.engine",
    "SqliteStorageAdapter": "logicblocks.event.storage.sqlite",
    "TableParameters": "logicblocks.event.storage.postgres",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
