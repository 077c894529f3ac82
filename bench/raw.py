"""Raw psycopg baselines: the same work straight on PostgreSQL, the limit we approach.

Writes go to ``raw_events``, a table made ``LIKE`` our ``events`` table (same columns,
types, keys and indexes); the scan reads our ``events`` table itself, so both scans read the
very same rows. No ordering lock, no conditions, no retries: the bare cost of the rows.
"""

import itertools
import json
import threading
import uuid
from typing import Any

import psycopg

from logicblocks.event.store.payloads import decode_payload
from logicblocks.event.types import StoredEvent

from .events import CATEGORY, EVENT_NAME, now, payload
from .timing import Stopwatch, run_threads

__all__ = ["RawTable", "scan_log"]

_INSERT = (
    "INSERT INTO raw_events (sequence_number, id, name, category, stream, position, payload,"
    " observed_at, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PAGE = (
    "SELECT id, name, stream, category, position, sequence_number, payload::text,"
    " observed_at, occurred_at FROM events WHERE sequence_number > %s"
    " ORDER BY sequence_number LIMIT %s"
)


class RawTable:
    """``raw_events`` in the benchmark database, and the next sequence number to use."""

    def __init__(self, url: str) -> None:
        self.url = url
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DROP TABLE IF EXISTS raw_events")
            connection.execute("CREATE TABLE raw_events (LIKE events INCLUDING ALL)")
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            return next(self._numbers)

    def _row(self, stream: str, position: int, index: int) -> tuple[Any, ...]:
        # The payload is encoded here, as a client of the raw table would have to.
        stamp = now()
        return (
            self._next(),
            str(uuid.uuid4()),
            EVENT_NAME,
            CATEGORY,
            stream,
            position,
            json.dumps(payload(index), separators=(",", ":")),
            stamp,
            stamp,
        )

    def publish_batches(
        self, publishes: int, batch: int, run: str, watch: Stopwatch | None = None
    ) -> float:
        """W1: one transaction of ``batch`` rows through ``executemany`` per publish."""
        watch = watch or Stopwatch()
        stream = f"w1-{run}"
        with psycopg.connect(self.url) as connection:
            watch.start()
            for number in range(publishes):
                rows = [self._row(stream, number * batch + i, i) for i in range(batch)]
                with connection.transaction(), connection.cursor() as cursor:
                    cursor.executemany(_INSERT, rows)
            watch.stop()
            return watch.rate(publishes * batch)

    def publish_one_connection(
        self, clients: int, publishes: int, run: str, watch: Stopwatch | None = None
    ) -> float:
        """W2 on one connection: one row per transaction, the clients' publishes in turn."""
        watch = watch or Stopwatch()
        with psycopg.connect(self.url, autocommit=True) as connection:
            watch.start()
            for number in range(publishes):
                for client in range(clients):
                    connection.execute(_INSERT, self._row(f"w2-{run}-{client}", number, number))
            watch.stop()
            return watch.rate(clients * publishes)

    def publish_concurrently(
        self, clients: int, publishes: int, run: str, watch: Stopwatch | None = None
    ) -> float:
        """W2 with ``clients`` threads, each with its own connection and stream."""
        watch = watch or Stopwatch()
        connections = [psycopg.connect(self.url, autocommit=True) for _ in range(clients)]
        try:

            def work(index: int) -> None:
                connection = connections[index]
                for number in range(publishes):
                    connection.execute(_INSERT, self._row(f"w2t-{run}-{index}", number, number))

            run_threads(clients, work, watch)
            return watch.rate(clients * publishes)
        finally:
            for connection in connections:
                connection.close()


def scan_log(url: str, page_size: int = 1000, watch: Stopwatch | None = None) -> tuple[int, float]:
    """W3: keyset pages over our ``events`` table into ``StoredEvent``s; (events, /s)."""
    watch = watch or Stopwatch()
    count = 0
    after = -1
    with psycopg.connect(url, autocommit=True) as connection:
        watch.start()
        while True:
            rows = connection.execute(_PAGE, (after, page_size)).fetchall()
            for row in rows:
                StoredEvent(
                    id=row[0],
                    name=row[1],
                    stream=row[2],
                    category=row[3],
                    position=row[4],
                    sequence_number=row[5],
                    payload=decode_payload(row[6]),
                    observed_at=row[7],
                    occurred_at=row[8],
                )
            count += len(rows)
            if len(rows) < page_size:
                break
            after = rows[-1][5]
        watch.stop()
        return count, watch.rate(count)
