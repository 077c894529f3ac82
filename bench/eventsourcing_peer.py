"""The ``eventsourcing`` package's PostgreSQL application recorder, in-process (a peer).

Its unit of storage is a ``StoredEvent`` (originator id, version, topic, state bytes) in
table ``es_events``; the state carries the same JSON payload our events carry. Its writes
take an exclusive table lock and notify, as ours take a lock and notify; its reads are
keyset pages on ``notification_id``.
"""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .events import payload
from .timing import Stopwatch, run_threads

__all__ = ["EventsourcingRecorder", "available"]

_TOPIC = "bench.events:OrderPlaced"
_TABLE = "es_events"


def available() -> str | None:
    """None when the package imports, else why not."""
    try:
        import eventsourcing.postgres  # noqa: F401
    except ImportError as error:
        return f"skipped: eventsourcing is not installed ({error}); run make bench"
    return None


@dataclass
class _Connection:
    host: str
    port: int
    dbname: str
    user: str


def _parse(url: str) -> _Connection:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return _Connection(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        dbname=parts.path.lstrip("/"),
        user=parts.username or "postgres",
    )


class EventsourcingRecorder:
    """A ``PostgresApplicationRecorder`` on the benchmark database, pool of ``pool_size``."""

    def __init__(self, url: str, pool_size: int) -> None:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        where = _parse(url)
        self.datastore = PostgresDatastore(
            dbname=where.dbname,
            host=where.host,
            port=where.port,
            user=where.user,
            password="",
            pool_size=pool_size,
            max_overflow=0,
            max_waiting=pool_size * 2,
        )
        self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name=_TABLE)
        self.recorder.create_table()

    def close(self) -> None:
        """Close the datastore's pool."""
        self.datastore.close()

    @staticmethod
    def _events(originator: uuid.UUID, first_version: int, count: int) -> list[object]:
        from eventsourcing.persistence import StoredEvent

        return [
            StoredEvent(
                originator_id=originator,
                originator_version=first_version + i,
                topic=_TOPIC,
                state=json.dumps(payload(i), separators=(",", ":")).encode(),
            )
            for i in range(count)
        ]

    def publish_batches(self, publishes: int, batch: int, watch: Stopwatch | None = None) -> float:
        """W1: ``insert_events`` with ``batch`` events of one aggregate per call."""
        watch = watch or Stopwatch()
        originator = uuid.uuid4()
        watch.start()
        for number in range(publishes):
            self.recorder.insert_events(self._events(originator, number * batch, batch))
        watch.stop()
        return watch.rate(publishes * batch)

    def publish_concurrently(
        self, clients: int, publishes: int, watch: Stopwatch | None = None
    ) -> float:
        """W2: ``clients`` threads, each inserting one event per call for its own aggregate."""
        watch = watch or Stopwatch()
        originators = [uuid.uuid4() for _ in range(clients)]

        def work(index: int) -> None:
            for number in range(publishes):
                self.recorder.insert_events(self._events(originators[index], number, 1))

        run_threads(clients, work, watch)
        return watch.rate(clients * publishes)

    def load_from_events(self, url: str) -> int:
        """Copy our ``events`` table into ``es_events`` (same payloads, same order)."""
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"TRUNCATE {_TABLE} RESTART IDENTITY")
            connection.execute(
                f"INSERT INTO {_TABLE} (originator_id, originator_version, topic, state)"
                " SELECT md5(category || '/' || stream)::uuid, position, %s,"
                " convert_to(payload::text, 'UTF8')"
                " FROM events ORDER BY sequence_number",
                (_TOPIC,),
            )
            row = connection.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()
            return int(row[0]) if row else 0

    def scan(self, page_size: int = 1000, watch: Stopwatch | None = None) -> tuple[int, float]:
        """W3: ``select_notifications`` pages, decoding each event's JSON state."""
        watch = watch or Stopwatch()
        count = 0
        start = 1
        watch.start()
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=page_size)
            for notification in notifications:
                json.loads(notification.state)
            count += len(notifications)
            if len(notifications) < page_size:
                break
            start = notifications[-1].id + 1
        watch.stop()
        return count, watch.rate(count)


@contextmanager
def recorder(url: str, pool_size: int) -> Iterator[EventsourcingRecorder]:
    """An ``EventsourcingRecorder`` for the ``with`` block."""
    subject = EventsourcingRecorder(url, pool_size)
    try:
        yield subject
    finally:
        subject.close()
