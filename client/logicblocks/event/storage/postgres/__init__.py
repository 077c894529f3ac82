"""The PostgreSQL engine: events in one table, a gap-free global order, group commit.

Why a plain sequence is not enough
----------------------------------
Sequence numbers must be contiguous from 0 *and* assigned in commit order (promise 2 of
docs/invariants.md): once a reader has seen ``s``, no event numbered below ``s`` may appear later.
A ``bigserial``/sequence gives neither. Its value is taken when a row is inserted but the
row becomes visible only when its transaction commits, so two writers can take 7 and 8,
commit 8 first, and a reader paging "after s" reads 8, remembers it and never sees 7 when
it commits a moment later. Sequences also leave holes whenever a transaction rolls back.
Timers that "wait out" gaps only move the problem: under load a transaction outlives any
timer, and the reader skips its event for good.

What this adapter does instead
------------------------------
Every write transaction first takes one transaction-scoped advisory lock
(``pg_advisory_xact_lock``, key derived from the table name), then, in fresh statements,
reads the head and the last event of each stream it writes, checks the conditions, assigns
the next sequence numbers and positions itself, inserts and commits. PostgreSQL makes a
transaction visible before it releases its locks, so the next lock holder's reads see every
earlier write: numbers stay contiguous and commit order equals number order, with any number
of threads, processes or servers. Readers need nothing special: plain keyset pages
(``sequence_number > s ORDER BY sequence_number LIMIT n``), each its own short query.

One lock means one writer at a time per table, so throughput comes from doing more per lock
hold: concurrent publishes of a process share one transaction (``group_commit``), which
sets ``lock_timeout``, ``statement_timeout`` and ``idle_in_transaction_session_timeout`` so
a stuck or vanished writer cannot hold the store. Each commit sends one ``NOTIFY`` with the
new head, which a ``LISTEN`` thread per adapter (``listener``) turns into wake-ups.

Payloads are stored in a ``json`` column (not ``jsonb``, which rewrites numbers such as
``1e300`` and reorders keys) and read back as text, so they reach the gRPC wire without being
decoded. Connection failures surface as ``StorageUnavailableError``; the owned pool checks
connections before handing them out, so after a PostgreSQL restart later calls succeed.

Tags are stored with each event (JSON array text) and in a tags table of ``(tag,
sequence_number)`` rows; reads by query and query conditions walk that table and the
category, stream and name indexes, never the log (``query_sql``).

The parts, one module each: ``connection`` (``ConnectionParameters``, URLs, the owned
pools, failures as ``StorageUnavailableError``), ``tables`` (``TableParameters``: the table's
name and what derives from it), ``schema`` (migrations and the schema version), ``queries``
(the SQL, the shapes of rows), ``query_sql`` (the SQL of a ``Query``), ``page_plan`` (the
keyset pages of a read), ``listing`` (the index's queries), ``group_state`` (what a group's
publishes are judged against), ``group_commit_async`` (the write queue and its
transaction), ``listener_async`` (the
``LISTEN`` connection), ``records_async`` (the operations on one table), ``adapter``
(``PostgresStorageAdapter``, the blocking face) and ``async_storage``
(``AsyncPostgresStorage``, the face the server awaits). Consumer groups live in tables
beside the events: ``group_sql`` (their SQL, and why leases hold across servers),
``group_faces`` (each face's base class) and ``groups_async`` (their records). The
``*_async`` modules are the one source of the logic: ``group_commit``, ``listener``,
``records`` and ``groups`` are generated from them (``scripts/async_to_sync.py``).
psycopg is the ``postgres`` extra: importing this package without it says so.
"""

try:
    import psycopg  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError as missing:
    raise ImportError(
        f"PostgreSQL storage needs the postgres extra ({missing.name} is not installed): "
        "pip install 'logicblocks-event-store-server[postgres]'"
    ) from missing

from .adapter import PostgresStorageAdapter
from .connection import ConnectionParameters, ConnectionSource
from .tables import TableParameters

__all__ = ["ConnectionParameters", "ConnectionSource", "PostgresStorageAdapter", "TableParameters"]
