"""Storage URLs: which backend the server runs on.

``memory://``, ``sqlite:///relative/path.db`` (``sqlite:////absolute/path.db``) and
``postgresql://user:password@host:port/dbname``.
"""

import logging
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.storage.memory import InMemoryStorageAdapter
from logicblocks.event.store.exceptions import (
    ConfigurationError,
    StorageOpenError,
    StorageUnavailableError,
)

__all__ = ["DEFAULT_STORAGE_URL", "StorageUrlError", "open_storage"]

_log = logging.getLogger("logicblocks.event.server")

# The embedded durable default: a SQLite file under data/ in the working directory.
DEFAULT_STORAGE_URL = "sqlite:///data/events.db"


class StorageUrlError(ValueError):
    """A storage URL that names no backend we have, or that the backend cannot open."""


def open_storage(url: str) -> RecordStorageAdapter:
    """Open the backend a storage URL names; raises ``StorageUrlError`` saying why not."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return InMemoryStorageAdapter()
    if scheme == "sqlite":
        from logicblocks.event.storage.sqlite import SqliteStorageAdapter

        path = sqlite_path(url)
        _log.info("event=sqlite_file path=%s", path)
        try:
            return SqliteStorageAdapter(path=path)
        except StorageOpenError as error:
            raise StorageUrlError(f"storage URL {redact(url)!r}: {error}") from error
    if scheme in ("postgresql", "postgres"):
        try:
            from logicblocks.event.storage.postgres import (
                ConnectionParameters,
                PostgresStorageAdapter,
            )
        except ImportError as error:
            raise StorageUrlError(f"storage URL {redact(url)!r}: {error}") from None

        try:
            return PostgresStorageAdapter(connection_source=ConnectionParameters.from_url(url))
        except (ConfigurationError, StorageOpenError, StorageUnavailableError) as error:
            raise StorageUrlError(f"storage URL {redact(url)!r}: {error}") from error
    raise StorageUrlError(
        f"storage URL {redact(url)!r}: scheme must be memory://, sqlite:///path.db or postgresql://"
    )


def redact(url: str) -> str:
    """A storage URL fit for logs and messages: any password replaced by ``***``.

    The user information ends at the last ``@`` of the URL, not where a URL parser would
    end it: libpq reads a password holding a raw ``#`` or ``?`` whole, so masking only what
    ``urlsplit`` calls the password would print the rest of it. When in doubt, more is
    masked, never less.
    """
    scheme, separator, rest = url.partition("://")
    at = rest.rfind("@")
    user, colon, _ = rest[:at].partition(":") if at != -1 else ("", "", "")
    if colon:
        rest = f"{user}:***{rest[at:]}"
    path, question, query = rest.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(name == "password" for name, _ in pairs):
        query = urlencode(
            [(name, "***" if name == "password" else value) for name, value in pairs], safe="*/"
        )
    return f"{scheme}{separator}{path}{question}{query}"


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///`` URL names: three slashes relative, four absolute."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise StorageUrlError(f"storage URL {url!r}: expected sqlite:///path/to/file.db")
    # Resolved here, against the working directory, so logs and messages name the file.
    return Path(url[len(prefix) :]).resolve()
