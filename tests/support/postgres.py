"""Throwaway PostgreSQL clusters for tests and benchmarks.

``PostgresCluster`` runs ``initdb`` into a temporary directory and ``pg_ctl start`` on a
free loopback port, with trust authentication and the unix socket inside that directory,
so no pre-existing database, password or system service is involved. PostgreSQL refuses
to run as root; when this process is root (sessions, CI) the server runs as the
``postgres`` OS user (``scripts/ensure-postgresql.sh`` installs PostgreSQL and creates the
user when they are missing).
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

from logicblocks.event.store.adapters import TableParameters

__all__ = [
    "PostgresCluster",
    "find_postgres_bin_dir",
    "free_port",
    "hold_write_lock",
    "lock_waiters",
]

# Tests trade durability across an OS crash for speed; a killed *server process* still
# loses nothing, since the data reaches the kernel at commit either way.
TEST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "400",
}


def find_postgres_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(Path(path).parent.name.split(".")[0]),
        reverse=True,
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise RuntimeError("PostgreSQL is not installed: run scripts/ensure-postgresql.sh")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresCluster:
    """A PostgreSQL cluster of its own in a temporary directory, deleted by ``stop()``.

    Use as a context manager, or call ``start()`` and ``stop()``. ``url`` is the
    ``postgres`` database's URL; ``create_database()`` makes a fresh empty one.
    """

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        self.settings = dict(TEST_SETTINGS if settings is None else settings)
        self.bin_dir = find_postgres_bin_dir()
        self.port = 0
        self._directory: Path | None = None
        self._run_as_postgres = os.geteuid() == 0

    @property
    def directory(self) -> Path:
        """The temporary directory: ``data/``, ``socket/`` and ``server.log``."""
        if self._directory is None:
            raise RuntimeError("the cluster is not started")
        return self._directory

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database over TCP on loopback."""
        return self.database_url("postgres")

    def database_url(self, dbname: str) -> str:
        """The URL of database ``dbname`` in this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _command(self, *arguments: str) -> list[str]:
        if self._run_as_postgres:
            return ["runuser", "-u", "postgres", "--", *arguments]
        return list(arguments)

    def _run(self, *arguments: str) -> None:
        completed = subprocess.run(
            self._command(*arguments), capture_output=True, text=True, check=False
        )
        if completed.returncode != 0:
            log = self.directory / "server.log"
            server_log = log.read_text(errors="replace")[-4000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(arguments)} failed ({completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}\n{server_log}"
            )

    def start(self) -> Self:
        """Create the cluster and start the server; returns when it accepts connections."""
        self._directory = Path(tempfile.mkdtemp(prefix="event-store-pg-"))
        (self._directory / "socket").mkdir()
        if self._run_as_postgres:
            user = pwd.getpwnam("postgres")
            for path in (self._directory, self._directory / "socket"):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self._directory / "data"),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        self.port = free_port()
        self._pg_ctl("start")
        return self

    def _server_options(self) -> str:
        options = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.directory / "socket"),
            **self.settings,
        }
        return " ".join(f"-c {name}={value}" for name, value in options.items())

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"),
            action,
            "--pgdata",
            str(self.directory / "data"),
            "--log",
            str(self.directory / "server.log"),
            "--options",
            self._server_options(),
            "--wait",
            "--timeout",
            "60",
            *extra,
        )

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server, keeping the data (``mode``: smart, fast or immediate)."""
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "stop",
            "--pgdata",
            str(self.directory / "data"),
            "--mode",
            mode,
            "--wait",
            "--timeout",
            "60",
        )

    def start_server(self) -> None:
        """Start the server again after ``stop_server`` on the same port and data."""
        self._pg_ctl("start")

    def restart(self, mode: str = "fast") -> None:
        """Stop and start the server: every open connection is cut."""
        self.stop_server(mode)
        self.start_server()

    def stop(self) -> None:
        """Stop the server and delete the cluster's directory."""
        if self._directory is None:
            return
        with contextlib.suppress(RuntimeError):
            self.stop_server("immediate")
        shutil.rmtree(self._directory, ignore_errors=True)
        self._directory = None

    def execute(
        self,
        statement: str | sql.SQL | sql.Composed,
        parameters: Sequence[object] = (),
        *,
        dbname: str = "postgres",
    ) -> list[tuple[object, ...]]:
        """Run one SQL statement in autocommit mode; returns its rows (empty if none)."""
        with psycopg.connect(self.database_url(dbname), autocommit=True) as connection:
            cursor = connection.execute(statement, parameters or None)
            return list(cursor.fetchall()) if cursor.description else []

    def create_database(self, prefix: str = "test") -> str:
        """Create a fresh empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``create_database``, cutting its connections."""
        name = url.rsplit("/", 1)[1]
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    @contextlib.contextmanager
    def fresh_database(self, prefix: str = "test") -> Iterator[str]:
        """A fresh database for the ``with`` block, dropped afterwards."""
        url = self.create_database(prefix)
        try:
            yield url
        finally:
            self.drop_database(url)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def hold_write_lock(
    postgres_url: str, table: TableParameters
) -> psycopg.Connection[tuple[object, ...]]:
    """A session holding the table's write lock, as a stuck writer would."""
    holder = psycopg.connect(postgres_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (table.lock_key,))
    return holder


def lock_waiters(cluster: PostgresCluster, table: TableParameters) -> int:
    """How many sessions wait for the table's write lock."""
    # An advisory lock on a bigint key shows its high half in classid, its low in objid.
    rows = cluster.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND ((classid::bigint << 32) | objid::bigint) = %s",
        (table.lock_key,),
    )
    count = rows[0][0]
    assert isinstance(count, int)
    return count
