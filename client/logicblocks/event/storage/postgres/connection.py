"""Where the database is and how the adapter connects to it.

``ConnectionParameters`` (and its URL form), the pool the adapter opens and owns, the check
a pooled connection passes before each use, and the one place where connection failures
become ``StorageUnavailableError``.
"""

import re
import select
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from logicblocks.event.store.exceptions import (
    ConfigurationError,
    StorageFullError,
    StorageUnavailableError,
)

__all__ = [
    "ConnectionParameters",
    "ConnectionSource",
    "connect_arguments",
    "new_async_pool",
    "open_pool",
    "storage_errors",
]

_RECONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ConnectionParameters:
    """Where the database is; the adapter opens and owns a connection pool from these."""

    host: str
    port: int
    dbname: str
    user: str
    password: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    """Further libpq parameters, such as ``("sslmode", "verify-full")``."""

    def to_connection_string(self) -> str:
        """A libpq connection string (values quoted as libpq needs)."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
        }
        if self.password is not None:
            values["password"] = self.password
        values.update(self.options)
        return make_conninfo("", **values)

    @classmethod
    def from_url(cls, url: str) -> "ConnectionParameters":
        """Parse ``postgresql://user:password@host:port/dbname?param=value&...``.

        libpq's own parser reads the URL (percent-decoding, IPv6 hosts, query parameters),
        so it means here what it means to ``psql``. The port defaults to 5432, the user to
        ``postgres`` and the database to the user's name. Query parameters are kept as
        libpq parameters (``sslmode``, ``connect_timeout``, ...); ``?host=/path`` names a
        Unix socket directory when the URL has no host.
        """
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(field="url", message="must start with postgresql://")
        try:
            # Typed for keyword arguments too; what libpq parses out of a URL is text.
            values = {key: str(value) for key, value in conninfo_to_dict(url).items()}
        except psycopg.ProgrammingError as error:
            raise ConfigurationError(
                field="url",
                message=f"libpq does not know how to read it ({_without_quoted_text(error)})",
            ) from None
        # libpq lets ?host= replace the URL's host; a URL naming two hosts is a mistake.
        parts = urlsplit(url)
        if parts.hostname and "host" in dict(parse_qsl(parts.query)):
            raise ConfigurationError(
                field="url", message="names a host twice (in the URL and in ?host=)"
            )
        host = values.pop("host", "")
        if not host:
            raise ConfigurationError(
                field="url", message="must name a host: postgresql://user@host:port/db"
            )
        if "@" in host:
            # libpq ends the user information at the first "@": the rest of a password
            # holding one would be taken for the host and shown in every connection error.
            raise ConfigurationError(
                field="url", message="has an '@' in its password: write it as %40"
            )
        port_text = values.pop("port", "")
        if not port_text.strip(","):
            # No port, or several hosts without ports (one empty port each: ",").
            port = 5432
        elif port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535:
            port = int(port_text)
        else:
            raise ConfigurationError(field="url", message="port must be a number from 1 to 65535")
        user = values.pop("user", "") or "postgres"
        return cls(
            host=host,
            port=port,
            dbname=values.pop("dbname", "") or user,
            user=user,
            password=values.pop("password", None),
            options=tuple(values.items()),
        )


def _without_quoted_text(error: Exception) -> str:
    """libpq's complaint about a URL without the text it quotes, which may be the password.

    A quoted parameter name (``"bogus"``) is kept: it says what to fix and is no secret.
    """
    message = str(error).strip().splitlines()[0] if str(error).strip() else "no reason given"
    return re.sub(
        r'"([^"]*)"',
        lambda quoted: quoted[0] if re.fullmatch(r"[a-z_]+|=", quoted[1]) else '"..."',
        message,
    )


ConnectionSource: TypeAlias = "ConnectionParameters | psycopg_pool.ConnectionPool[Any]"


def open_pool(
    parameters: ConnectionParameters, *, max_size: int, timeout: float
) -> "psycopg_pool.ConnectionPool[Any]":
    """Open the pool an adapter owns, without waiting for its first connection."""
    pool: psycopg_pool.ConnectionPool[Any] = psycopg_pool.ConnectionPool(
        parameters.to_connection_string(),
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        check=_check_connection,
        configure=_configure_connection,
        # Reads are single statements; writes open their transactions explicitly.
        kwargs={"autocommit": True},
        **_POOL_SETTINGS,
    )
    _check_first_connection(parameters, timeout)
    try:
        pool.open(wait=False)
    except psycopg.OperationalError as error:
        raise StorageUnavailableError(f"PostgreSQL is unavailable: {error}") from error
    return pool


def new_async_pool(
    conninfo: str, kwargs: dict[str, Any], *, max_size: int, timeout: float
) -> "psycopg_pool.AsyncConnectionPool[Any]":
    """An asynchronous pool set up as ``open_pool``'s, not yet open: open it with
    ``await pool.open(wait=False)`` in the event loop that will use it."""
    return psycopg_pool.AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        timeout=timeout,
        check=_check_async_connection,
        configure=_configure_async_connection,
        kwargs=kwargs,
        **_POOL_SETTINGS,
    )


# What the owned pools, blocking and asynchronous, share.
_POOL_SETTINGS: dict[str, Any] = {
    # While the database is down the pool retries with growing delays; giving up after a
    # few seconds lets the next call start a fresh attempt at once.
    "reconnect_timeout": _RECONNECT_TIMEOUT,
    "name": "logicblocks-event-store",
    "open": False,
}


def _check_first_connection(parameters: ConnectionParameters, timeout: float) -> None:
    """Connect once before the pool starts, and fail at once with PostgreSQL's reason.

    The pool would retry a refused password or a missing database in the background,
    logging each attempt, until the first call gave up with only "couldn't get a
    connection". Retrying mends an outage of a running store, not a wrong address.
    """
    options = dict(parameters.options)
    options.setdefault("connect_timeout", str(max(2, round(timeout))))
    try:
        psycopg.connect(make_conninfo(parameters.to_connection_string(), **options)).close()
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split())
        raise StorageUnavailableError(f"PostgreSQL is unavailable: {reason}") from None


def _check_connection(connection: psycopg.Connection[Any]) -> None:
    """Make sure a pooled connection still works before a call uses it.

    A round trip only when the server has sent something unprompted: an idle connection
    receives nothing, but a server shutting down sends a termination message and a closed
    socket reads as end of file. A network partition goes unseen here; the call then fails
    as unavailable and the broken connection is discarded.
    """
    # A connection broken by a server restart is replaced before it is used, so the
    # adapter recovers by itself.
    if _sent_unprompted(connection):
        psycopg_pool.ConnectionPool.check_connection(connection)


async def _check_async_connection(connection: psycopg.AsyncConnection[Any]) -> None:
    """``_check_connection`` for the asynchronous pool."""
    if _sent_unprompted(connection):
        await psycopg_pool.AsyncConnectionPool.check_connection(connection)


def _sent_unprompted(connection: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether the server sent anything on an idle ``connection`` (raises if it is closed)."""
    if connection.closed:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    return bool(readable)


def _configure_connection(connection: psycopg.Connection[Any]) -> None:
    """Set up a connection of the adapter's own pool: sessions in UTC.

    Timestamps are returned in UTC whatever the session's time zone, but in a "UTC" session
    psycopg hands them over in ``datetime.UTC`` (nothing left to convert) rather than in a
    ``ZoneInfo`` such as ``Etc/UTC``, which halves the cost of loading a row.
    """
    connection.execute(_UTC_SESSION)


async def _configure_async_connection(connection: psycopg.AsyncConnection[Any]) -> None:
    """``_configure_connection`` for the asynchronous pool."""
    await connection.execute(_UTC_SESSION)


_UTC_SESSION = "SET TIME ZONE 'UTC'"


@contextmanager
def storage_errors() -> Iterator[None]:
    """Report an unreachable or overloaded database as ``StorageUnavailableError``, and a
    full disk as ``StorageFullError``.

    ``OperationalError`` covers lost connections, pool timeouts (``PoolTimeout``) and the
    lock and statement timeouts: all are worth retrying. A full disk is one too in
    psycopg's classes, but retrying it at once cannot help. Other database errors propagate.
    """
    try:
        yield
    except psycopg.errors.ProgramLimitExceeded:
        # A request too large for the database (an index entry, say): not an outage.
        raise
    except psycopg.errors.DiskFull as error:
        raise StorageFullError(f"storage full: PostgreSQL's disk is full ({error})") from error
    except (psycopg.OperationalError, psycopg.InterfaceError) as error:
        raise StorageUnavailableError(f"PostgreSQL is unavailable: {error}") from error


def connect_arguments(
    pool: "psycopg_pool.ConnectionPool[Any] | psycopg_pool.AsyncConnectionPool[Any]",
) -> tuple[str, dict[str, Any]]:
    """How ``pool`` connects (its settings may be given as callables), in autocommit."""
    conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
    kwargs = pool.kwargs() if callable(pool.kwargs) else pool.kwargs
    if not isinstance(conninfo, str) or not isinstance(kwargs, dict | None):
        # An asynchronous pool may compute them with coroutines; ours never does.
        raise ConfigurationError(
            field="connection_source", message="must give its conninfo and kwargs as values"
        )
    return conninfo, {**(kwargs or {}), "autocommit": True}
