"""W8 (issue 13): query conditions and reads by query on a large store, indexed not scanned.

The store, on PostgreSQL, holds ``events`` events of enrolments in streams of 100, each
tagged with a course and a student: 1% with the hot course ``course:c0``, the rest spread
over about 5,000 other courses, and the students over about 50,000. It is filled with bulk
SQL (``INSERT ... SELECT generate_series``) into the engine's own tables after the adapter
has made the schema: the events with their ``tags`` column, one row per tag in the tags
index table, and each stream's last event in the streams table, as a publish would leave
them. Loading a million events through any client would dominate the run.

Then, through our server and the gRPC client (``GrpcStorageAdapter``):

- scans: every event of the log, and every event of the hot course (1% of the log), each
  timed to its last event, with the CPU per event returned;
- serial one-event publishes into a stream, the same events both ways: unconditioned, and
  on ``no_event_matches`` of the enrolment decision's query (the hot course's events, or
  the student's) after a recent sequence number (the previous publish's), which holds, so
  every publish is written. Latency per publish, and CPU per publish on each side.

The scans run first, so the 1% is 1% of the log they read.
"""

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from logicblocks.event.store import EventStore, UnmetWriteConditionError, no_event_matches
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.types import NewEvent, Query, QueryItem

from .cpu import Meter, Stopwatch, Usage
from .environment import PostgresCluster, ServerProcess
from .events import payload
from .report import Figure, Report
from .subjects import (
    W8_CONDITIONED,
    W8_CONDITIONED_P50,
    W8_FILTERED_SCAN,
    W8_FULL_SCAN,
    W8_PLAIN,
    W8_PLAIN_P50,
)

if TYPE_CHECKING:
    from .__main__ import Sizes

__all__ = [
    "CATEGORY",
    "HOT_TAG",
    "ConsistencyWorkload",
    "Fill",
    "Publishes",
    "decision_query",
    "fill",
    "publish_serially",
    "scan",
]

CATEGORY = "enrolment"
EVENT_NAME = "student-subscribed"
HOT_TAG = "course:c0"
# One event in this many carries the hot course: 1% of the log.
_HOT_EVERY = 100
_COURSES = 4999
_STUDENTS = 50021
_STREAM_LENGTH = 100
_FILL_PAYLOAD = (
    '{"index":%s,"order":"order-%s","amount":1234.5,"currency":"GBP",'
    '"lines":[{"sku":"sku-1","quantity":2},{"sku":"sku-2","quantity":1}]}'
)


@dataclass(frozen=True)
class Fill:
    """What the store holds after ``fill``: events, tag rows, and the hot course's events."""

    events: int
    tag_rows: int
    hot_events: int
    seconds: float


def _tags_table(events_table: str) -> str:
    # The engine's tags index table: one (tag, sequence_number) row per tag of an event.
    return f"{events_table}_tags"


def _cast(data_type: str) -> sql.Composable:
    """The cast that makes JSON array text fit the events table's ``tags`` column."""
    if data_type in ("json", "jsonb"):
        return sql.SQL(data_type)
    return sql.SQL("text")


def fill(url: str, total: int, events_table: str = "events") -> Fill:
    """Fill an empty store (whose schema the adapter made) with ``total`` tagged events."""
    started = time.perf_counter()
    events = sql.Identifier(events_table)
    tags = sql.Identifier(_tags_table(events_table))
    streams = sql.Identifier(f"{events_table}_streams")
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(events)).fetchone()
        if row is None or row[0] != 0:
            raise RuntimeError(f"W8 fills an empty store; {events_table} holds events")
        type_row = connection.execute(
            "SELECT data_type FROM information_schema.columns"
            " WHERE table_name = %s AND column_name = 'tags'",
            (events_table,),
        ).fetchone()
        if type_row is None:
            raise RuntimeError(f"{events_table} has no tags column: the engine predates issue 13")
        # Tags sorted, as the engine stores them ("course:..." sorts before "student:..."),
        # as compact JSON array text.
        course = sql.SQL(
            "CASE WHEN g % {hot} = 0 THEN {hot_tag} ELSE 'course:c' || (1 + g % {courses}) END"
        ).format(
            hot=sql.Literal(_HOT_EVERY),
            hot_tag=sql.Literal(HOT_TAG),
            courses=sql.Literal(_COURSES),
        )
        student = sql.SQL("'student:s' || (g % {students})").format(students=sql.Literal(_STUDENTS))
        connection.execute(
            sql.SQL(
                "INSERT INTO {events} (sequence_number, id, name, category, stream, position,"
                " payload, observed_at, occurred_at, tags)"
                " SELECT g, 'w8-' || g, {name}, {category},"
                " 'e-' || lpad((g / {length})::text, 6, '0'), g % {length},"
                " format({payload}, g, lpad(g::text, 8, '0'))::json, now(), now(),"
                " CAST({open} || {course} || {comma} || {student} || {close} AS {tags_type})"
                " FROM generate_series(0, {total} - 1) AS g"
            ).format(
                events=events,
                name=sql.Literal(EVENT_NAME),
                category=sql.Literal(CATEGORY),
                length=sql.Literal(_STREAM_LENGTH),
                payload=sql.Literal(_FILL_PAYLOAD),
                course=course,
                student=student,
                open=sql.Literal('["'),
                comma=sql.Literal('","'),
                close=sql.Literal('"]'),
                tags_type=_cast(str(type_row[0])),
                total=sql.Literal(total),
            )
        )
        connection.execute(
            sql.SQL(
                "INSERT INTO {tags} (tag, sequence_number)"
                " SELECT tag, sequence_number FROM {events},"
                " json_array_elements_text(tags::text::json) AS tag"
            ).format(tags=tags, events=events)
        )
        connection.execute(
            sql.SQL(
                "INSERT INTO {streams} (category, stream, last_position, last_sequence_number,"
                " last_observed_at)"
                " SELECT category, stream, max(position), max(sequence_number),"
                " max(observed_at) FROM {events} GROUP BY category, stream"
            ).format(streams=streams, events=events)
        )
        for table in (events, tags, streams):
            connection.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
        # Flush the fill's dirty pages now, not while a subject's CPU is being measured.
        connection.execute("CHECKPOINT")
        counted = connection.execute(
            sql.SQL(
                "SELECT (SELECT count(*) FROM {tags}),"
                " (SELECT count(*) FROM {tags} WHERE tag = {hot_tag})"
            ).format(tags=tags, hot_tag=sql.Literal(HOT_TAG))
        ).fetchone()
    tag_rows, hot = (int(counted[0]), int(counted[1])) if counted else (0, 0)
    return Fill(
        events=total, tag_rows=tag_rows, hot_events=hot, seconds=time.perf_counter() - started
    )


def decision_query(student: str) -> Query:
    """What an enrolment decision reads: the hot course's definition and enrolments, and
    the student's enrolments (the DCB course example, docs/consistency.md)."""
    return Query(
        items=[
            QueryItem(names=["course-defined", EVENT_NAME], tags=[HOT_TAG]),
            QueryItem(names=[EVENT_NAME], tags=[f"student:{student}"]),
        ]
    )


def _event(index: int, student: str) -> NewEvent:
    return NewEvent(name=EVENT_NAME, payload=payload(index), tags=[HOT_TAG, f"student:{student}"])


def scan(target: str, query: Query | None, watch: Stopwatch | None = None) -> float:
    """Read every event of the log (``query`` None) or of ``query`` into ``StoredEvent``s;
    the seconds to the last one. The ``watch`` counts one operation per event."""
    watch = watch or Stopwatch()
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        scope = store.log() if query is None else store.query(query=query)
        count = 0
        watch.start()
        for event in scope:
            # Touch the payload so a lazily decoding client would pay for it here too.
            if event.payload is None:
                raise AssertionError("an event without a payload")
            count += 1
        seconds = watch.stop()
        watch.rate(count)
        if count == 0:
            raise AssertionError("the scan returned no event")
        return seconds


@dataclass
class Publishes:
    """One repetition of serial publishes: publishes/s and each publish's milliseconds."""

    rate: float
    latencies_ms: list[float]

    @property
    def p50_ms(self) -> float:
        """The median latency."""
        return statistics.median(self.latencies_ms)


def _check_condition_judged(store: EventStore, stream: str, student: str, last: int) -> None:
    """Before the clock: the condition fails when a matching event follows ``after``, so the
    figures are of a server that judges it (not one that ignores it)."""
    try:
        store.publish(
            writes=[
                store.stream(category=CATEGORY, stream=stream).write(events=[_event(0, student)])
            ],
            conditions={no_event_matches(decision_query(student), after_sequence_number=last - 1)},
        )
    except UnmetWriteConditionError as error:
        if error.first_match_sequence_number != last:
            raise AssertionError(
                f"the condition failed on {error.first_match_sequence_number}, not {last}"
            ) from error
        return
    raise AssertionError("a publish on a condition that does not hold was written")


def publish_serially(
    target: str, publishes: int, run: str, conditioned: bool, watch: Stopwatch | None = None
) -> Publishes:
    """``publishes`` one-event publishes, one after another, into one stream; with
    ``conditioned``, each on the decision query's condition after the previous publish's
    sequence number. The events and the call (``store.publish``) are the same both ways."""
    watch = watch or Stopwatch()
    student = f"w8-{run}"
    stream = f"w8-{'conditioned' if conditioned else 'plain'}-{run}"
    query = decision_query(student)
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        writer = store.stream(category=CATEGORY, stream=stream)
        # Connect before the clock; the head the first condition starts from.
        last = store.publish(writes=[writer.write(events=[_event(0, student)])])[-1].sequence_number
        if conditioned:
            _check_condition_judged(store, f"{stream}-check", student, last)
        events = [_event(i, student) for i in range(1, publishes + 1)]
        latencies: list[float] = []
        watch.start()
        for event in events:
            conditions: frozenset[WriteCondition] = (
                frozenset({no_event_matches(query, after_sequence_number=last)})
                if conditioned
                else frozenset()
            )
            began = time.perf_counter()
            stored = store.publish(writes=[writer.write(events=[event])], conditions=conditions)
            latencies.append((time.perf_counter() - began) * 1000)
            last = stored[-1].sequence_number
        watch.stop()
        return Publishes(rate=watch.rate(publishes), latencies_ms=latencies)


class ConsistencyWorkload:
    """W8 of a ``Run``, which provides the attributes and methods below."""

    sizes: "Sizes"
    logs: Path
    cluster: PostgresCluster
    report: Report

    def meter(self, server: int | None = None, postgres: bool = True) -> Meter:
        raise NotImplementedError

    def w8(self) -> None:
        s = self.sizes
        # A database of its own: W3's log and W8's tagged store do not mix.
        url = self.cluster.create_database("bench_consistency")
        log = self.logs / "server-w8.log"
        with ServerProcess.running(url, log):  # makes the schema, then leaves the fill alone
            pass
        filled = fill(url, s.w8_events)
        print(
            f"W8: {filled.events:,} events ({filled.hot_events:,} of the hot course, "
            f"{filled.tag_rows:,} tag rows) filled in {filled.seconds:.0f} s",
            flush=True,
        )
        with ServerProcess.running(url, log) as server:
            meter = self.meter(server=server.pid)
            self._w8_scans(server.target, meter)
            self._w8_publishes(server.target, meter)

    def _w8_scans(self, target: str, meter: Meter) -> None:
        hot = Query.of(tags=[HOT_TAG])
        full: list[float] = []
        filtered: list[float] = []
        full_cpu: list[Usage] = []
        filtered_cpu: list[Usage] = []
        for _ in range(self.sizes.repeats):
            for query, samples, cpu in ((None, full, full_cpu), (hot, filtered, filtered_cpu)):
                watch = Stopwatch(meter)
                samples.append(scan(target, query, watch) * 1000)
                cpu.append(watch.usage)
        for subject, samples, cpu in (
            (W8_FULL_SCAN, full, full_cpu),
            (W8_FILTERED_SCAN, filtered, filtered_cpu),
        ):
            self.report.add(Figure("W8", subject, "ms", samples, higher_is_better=False, cpu=cpu))

    def _w8_publishes(self, target: str, meter: Meter) -> None:
        s = self.sizes
        results: dict[bool, list[Publishes]] = {False: [], True: []}
        cpu: dict[bool, list[Usage]] = {False: [], True: []}
        for run in range(s.repeats):
            # Interleaved, so drifting machine load touches both alike.
            for conditioned in (False, True):
                watch = Stopwatch(meter)
                results[conditioned].append(
                    publish_serially(target, s.w8_publishes, str(run), conditioned, watch)
                )
                cpu[conditioned].append(watch.usage)
        for conditioned, rate_name, p50_name in (
            (False, W8_PLAIN, W8_PLAIN_P50),
            (True, W8_CONDITIONED, W8_CONDITIONED_P50),
        ):
            runs = results[conditioned]
            self.report.add(
                Figure("W8", rate_name, "publishes/s", [r.rate for r in runs], cpu=cpu[conditioned])
            )
            self.report.add(
                Figure("W8", p50_name, "ms", [r.p50_ms for r in runs], higher_is_better=False)
            )
            every = sorted(latency for r in runs for latency in r.latencies_ms)
            print(
                f"    p99 {every[int(len(every) * 0.99) - 1]:.2f} ms over {len(every):,} publishes",
                flush=True,
            )
