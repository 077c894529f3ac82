"""Opening SQLite event store files: creation, restart, and the files it refuses."""

import sqlite3
from pathlib import Path

import pytest

from logicblocks.event.server.storage_url import DEFAULT_STORAGE_URL, StorageUrlError, open_storage
from logicblocks.event.storage.sqlite import SCHEMA_VERSION
from logicblocks.event.store import EventStore, InvalidInputError, StorageUnavailableError
from logicblocks.event.store.adapters import SqliteStorageAdapter
from logicblocks.event.store.exceptions import StorageOpenError
from logicblocks.event.types import NewEvent


def publish_two(path: Path) -> None:
    with SqliteStorageAdapter(path=path) as adapter:
        EventStore(adapter).stream(category="orders", stream="o-1").publish(
            events=[NewEvent(name="placed", payload={"n": n}) for n in range(2)]
        )


def test_missing_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "events.db"
    with SqliteStorageAdapter(path=path) as adapter:
        assert adapter.head() == -1  # an empty store
    assert path.is_file()


def test_events_are_there_after_a_restart_and_numbering_continues(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    publish_two(path)
    with SqliteStorageAdapter(path=path) as adapter:
        store = EventStore(adapter)
        stream = store.stream(category="orders", stream="o-1")
        assert [e.payload["n"] for e in stream.read()] == [0, 1]
        (third,) = stream.publish(events=[NewEvent(name="placed", payload={"n": 2})])
    assert (third.position, third.sequence_number) == (2, 2)


def test_an_empty_existing_file_becomes_an_event_store(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    path.touch()
    publish_two(path)
    with SqliteStorageAdapter(path=path) as adapter:
        assert adapter.head() == 1


def test_the_default_storage_url_creates_data_events_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    adapter = open_storage(DEFAULT_STORAGE_URL)
    try:
        assert isinstance(adapter, SqliteStorageAdapter)
    finally:
        adapter.close()
    assert (tmp_path / "data" / "events.db").is_file()


def test_a_folder_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageOpenError, match="folder cannot be created"):
        SqliteStorageAdapter(path=blocker / "events.db")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageOpenError, match="is a directory"):
        SqliteStorageAdapter(path=tmp_path)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    content = "these are my notes, not a database\n" * 100
    path.write_text(content)
    with pytest.raises(StorageOpenError, match="not a SQLite database"):
        SqliteStorageAdapter(path=path)
    assert path.read_text() == content


def test_another_applications_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customers (name TEXT)")
    connection.commit()
    connection.close()
    with pytest.raises(StorageOpenError, match="another application"):
        SqliteStorageAdapter(path=path)
    connection = sqlite3.connect(path)
    try:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    finally:
        connection.close()
    assert tables == [("customers",)]


def test_a_newer_schema_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    publish_two(path)
    newer = SCHEMA_VERSION + 1
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {newer}")
    connection.close()
    with pytest.raises(StorageOpenError, match=f"schema version {newer} is newer"):
        SqliteStorageAdapter(path=path)
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == newer
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    finally:
        connection.close()


def test_a_closed_adapter_refuses_work(tmp_path: Path) -> None:
    adapter = SqliteStorageAdapter(path=tmp_path / "events.db")
    adapter.close()
    with pytest.raises(StorageUnavailableError, match="closed"):
        adapter.head()
    with pytest.raises(StorageUnavailableError, match="closed"):
        EventStore(adapter).stream(category="c", stream="s").publish(
            events=[NewEvent(name="n", payload={})]
        )


def test_text_sqlite_cannot_store_is_rejected_naming_the_field(tmp_path: Path) -> None:
    with SqliteStorageAdapter(path=tmp_path / "events.db") as adapter:
        stream = EventStore(adapter).stream(category="orders", stream="o-1")
        with pytest.raises(InvalidInputError) as raised:
            stream.publish(
                events=[
                    NewEvent(name="fine", payload={}),
                    NewEvent(name="bad", payload={"text": "lone \ud800 surrogate"}),
                ]
            )
        assert raised.value.field == "events[1].payload"
        assert adapter.head() == -1  # an empty store


def test_the_server_gets_the_reason_as_a_storage_url_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    with pytest.raises(StorageUrlError, match="not a SQLite database"):
        open_storage(f"sqlite:///{path}")
