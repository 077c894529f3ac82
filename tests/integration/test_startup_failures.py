"""Start-up failures as a new user meets them: each is one line on standard error naming
the cause, a non-zero exit, no traceback, and no pool retrying in the background first."""

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from logicblocks.event.storage.sqlite.files import open_writer
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import SqliteStorageAdapter
from logicblocks.event.types import NewEvent
from tests.support.certificates import make_certificates
from tests.support.postgres import PostgresCluster, free_port
from tests.support.server_process import COMMAND

_PREFIX = "logicblocks-event-store"


def refused(*arguments: str, cwd: Path | None = None) -> tuple[str, str]:
    """Run ``serve`` expecting it to refuse: its one error line, and all it wrote."""
    finished = subprocess.run(
        [COMMAND, "serve", "--listen", "127.0.0.1:0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    said = finished.stdout + finished.stderr
    assert finished.returncode == 2, said
    assert "Traceback" not in said
    assert "psycopg.pool" not in said  # no background attempts before giving up
    lines = [line for line in finished.stderr.splitlines() if line.startswith(_PREFIX)]
    assert len(lines) == 1, said
    return lines[0], said


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as started:
        # The throwaway cluster trusts every local connection; the role "app" alone must
        # give a password, so a wrong one is refused as a real server would refuse it.
        hba = started.directory / "data" / "pg_hba.conf"
        hba.write_text("host all app 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        started.execute("CREATE ROLE app LOGIN PASSWORD 'p@ss#word'")
        started.execute("SELECT pg_reload_conf()")
        yield started


def test_a_refused_password_is_postgresqls_reason_with_the_password_masked(
    cluster: PostgresCluster,
) -> None:
    for password in ("wrong", "wr#ong", "wr%40ong"):
        line, said = refused(
            "--storage", f"postgresql://app:{password}@127.0.0.1:{cluster.port}/postgres"
        )
        assert 'password authentication failed for user "app"' in line
        assert "app:***@" in line
        assert password not in said and "wr@ong" not in said


def test_a_raw_at_sign_in_the_password_is_refused_without_showing_any_of_it(
    cluster: PostgresCluster,
) -> None:
    line, said = refused(
        "--storage", f"postgresql://app:p@ss#word@127.0.0.1:{cluster.port}/postgres"
    )
    assert "has an '@' in its password: write it as %40" in line
    assert "ss#word" not in said


def test_a_missing_database_is_named(cluster: PostgresCluster) -> None:
    line, _ = refused("--storage", cluster.database_url("nosuchdb"))
    assert 'database "nosuchdb" does not exist' in line


def test_nothing_listening_on_the_port_is_said_at_once() -> None:
    line, _ = refused("--storage", f"postgresql://app:s3cret@127.0.0.1:{free_port()}/events")
    assert "Connection refused" in line


def test_a_role_that_may_not_create_the_tables_is_told_the_privilege(
    cluster: PostgresCluster,
) -> None:
    with cluster.fresh_database() as url:
        dbname = url.rsplit("/", 1)[1]
        cluster.execute("CREATE ROLE weak LOGIN")
        cluster.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC", dbname=dbname)
        line, _ = refused("--storage", f"postgresql://weak@127.0.0.1:{cluster.port}/{dbname}")
    assert "permission denied for schema public" in line
    assert "GRANT CREATE ON SCHEMA public TO weak" in line


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``path`` made unwritable even for root (tests run as root, which file modes do not stop)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_sqlite_folder_is_refused_naming_the_resolved_file(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with immutable(folder):
        # Relative, as users write it: resolved against the working directory.
        line, said = refused("--storage", "sqlite:///data/events.db", cwd=tmp_path)
    assert f"its folder '{folder}' is read-only" in line
    assert f"path={folder / 'events.db'}" in said


def test_a_read_only_sqlite_file_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "events.db"
    open_writer(database).close()
    with immutable(database):
        line, _ = refused("--storage", f"sqlite:///{database}")
    assert f"'{database}': the file is read-only" in line


def test_a_port_in_use_says_address_already_in_use() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        finished = subprocess.run(
            [COMMAND, "serve", "--listen", f"127.0.0.1:{port}", "--storage", "memory://"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode == 2
    assert f"{_PREFIX}: cannot listen on 127.0.0.1:{port}: address already in use\n" in (
        finished.stderr
    )
    assert "Traceback" not in finished.stderr


def test_an_invalid_certificate_or_key_is_named(tmp_path: Path) -> None:
    certificates = make_certificates(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    cases = [
        ((junk, certificates.server_key), f"invalid TLS certificate {junk}: no PEM certificate"),
        ((certificates.server_certificate, junk), f"invalid TLS key {junk}: no unencrypted"),
        (
            (certificates.server_certificate, certificates.client_key),
            f"invalid TLS key {certificates.client_key}: it is not the key of the certificate",
        ),
    ]
    for (certificate, key), message in cases:
        line, _ = refused(
            "--storage", "memory://", "--tls-cert", str(certificate), "--tls-key", str(key)
        )
        assert message in line


def test_an_unknown_log_level_is_an_argument_error() -> None:
    for environment, flags in (
        ({}, ["--log-level", "verbose"]),
        ({"EVENT_STORE_LOG_LEVEL": "verbose"}, []),
    ):
        finished = subprocess.run(
            [COMMAND, "serve", "--storage", "memory://", *flags],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **environment},
        )
        assert finished.returncode == 2
        assert (
            "error: argument --log-level: 'verbose' is not DEBUG, INFO, WARNING or ERROR"
            in finished.stderr
        )
        assert "Traceback" not in finished.stderr


def test_a_sqlite_file_reached_through_a_link_in_a_read_only_folder_opens(tmp_path: Path) -> None:
    # SQLite follows the link and writes beside the real file: only that folder matters.
    real = tmp_path / "real"
    real.mkdir()
    open_writer(real / "events.db").close()
    links = tmp_path / "links"
    links.mkdir()
    (links / "events.db").symlink_to(real / "events.db")
    with immutable(links), SqliteStorageAdapter(path=links / "events.db") as adapter:
        stored = (
            EventStore(adapter)
            .stream(category="c", stream="s")
            .publish(events=[NewEvent(name="n", payload={})])
        )
    assert [event.position for event in stored] == [0]
