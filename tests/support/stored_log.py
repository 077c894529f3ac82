"""A store's whole log read straight from its storage, bypassing any server."""

from pathlib import Path

from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    SqliteStorageAdapter,
)
from logicblocks.event.types import StoredEvent

__all__ = ["final_log"]


def final_log(storage_url: str, tmp_path: Path) -> list[StoredEvent]:
    """The whole log, read from storage directly."""
    if storage_url.startswith("sqlite"):
        with SqliteStorageAdapter(path=tmp_path / "events.db") as sqlite:
            return list(sqlite.scan())
    with PostgresStorageAdapter(
        connection_source=ConnectionParameters.from_url(storage_url)
    ) as postgres:
        return list(postgres.scan())
