"""The SQL of one events table, composed once, and the shapes of its rows and parameters.

Reads are keyset pages (``sequence_number > s ORDER BY sequence_number LIMIT n``), each its
own short query; a page under a byte budget is cut in SQL so the rows past it never leave
the server. Writes insert a whole group with one statement whose rows travel as one JSON
parameter (``InsertRows``). Queries run often are plain text, which psycopg prepares.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from psycopg import sql

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.exceptions import InvalidInputError, StorageUnavailableError
from logicblocks.event.store.records import EventRecord, trusted_event_record
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

from .query_sql import QuerySql
from .tables import TableParameters

__all__ = ["CountKind", "InsertRows", "Queries", "json_text", "record_from_row", "single_int"]

# The targets ``Queries.counts`` counts in SQL.
CountKind = Literal["category", "stream"]

# Parameters that are lists go as JSON text made by the C encoder, unpacked by PostgreSQL's
# JSON functions: psycopg dumps list parameters element by element in Python.
json_text = json.JSONEncoder(ensure_ascii=False).encode


# The record columns in EventRecord field order, payload and metadata as their exact JSON
# text, tags as the JSON array text stored.
_RECORD_COLUMNS = sql.SQL(
    "id, name, stream, category, position, sequence_number, payload::text, observed_at,"
    " occurred_at, tags, metadata::text"
)


def record_from_row(row: Sequence[Any]) -> EventRecord:
    """The record a row of the page and id queries holds (their columns, in order)."""
    tags = row[9]
    observed_at = row[7]
    occurred_at = row[8]
    # Already in UTC from the adapter's own sessions (see connection.open_pool).
    if observed_at.tzinfo is not UTC:
        observed_at = observed_at.astimezone(UTC)
    if occurred_at.tzinfo is not UTC:
        occurred_at = occurred_at.astimezone(UTC)
    return trusted_event_record(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        observed_at,
        occurred_at,
        _NO_TAGS if tags is None else tuple(orjson.loads(tags)),
        row[10],
    )


_NO_TAGS: tuple[str, ...] = ()


def single_int(row: Sequence[Any] | None) -> int:
    """The one integer an aggregate query (``SELECT coalesce(max(...), -1)``) returns."""
    if row is None or not isinstance(row[0], int):
        raise StorageUnavailableError(f"PostgreSQL answered {row!r} where a number was due")
    return row[0]


class InsertRows:
    """Rows of one group's insert, sent as one JSON array for ``json_to_recordset``.

    One text parameter built with C-implemented encoders, rather than nine arrays, which
    psycopg dumps element by element in Python (that was a sixth of a server's publish
    time). Each payload goes in as a JSON *string* holding its text, cast to ``json`` in
    the insert: PostgreSQL's JSON functions unescape what they extract, and would refuse a
    payload holding ``\\u0000`` as a nested value, while a string's unescaping gives back
    exactly the payload's text, which the cast keeps as it is. Metadata travels the same
    way, and tags as a string holding their compact JSON array; each only when the event
    has some (an absent key is NULL).
    """

    def __init__(self) -> None:
        self.records: list[EventRecord] = []

    def extend(self, records: Sequence[EventRecord]) -> None:
        self.records.extend(records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def last_sequence_number(self) -> int:
        return self.records[-1].sequence_number

    @property
    def tagged(self) -> bool:
        """Whether any event carries tags (only then does the insert index tags)."""
        return any(record.tags for record in self.records)

    def json(self) -> str:
        # orjson writes an aware datetime as isoformat() does, with its offset, so the
        # instant is exact whatever the session's time zone; microseconds are kept. It is
        # several times faster than joining strings the standard encoder made one by one.
        return orjson.dumps([_row(r) for r in self.records], default=_isoformat).decode("utf-8")


def _row(record: EventRecord) -> dict[str, Any]:
    """One record's columns for ``InsertRows.json``."""
    row: dict[str, Any] = {
        "sequence_number": record.sequence_number,
        "id": record.id,
        "name": record.name,
        "category": record.category,
        "stream": record.stream,
        "position": record.position,
        "payload": record.payload,
        "observed_at": record.observed_at,
        "occurred_at": record.occurred_at,
    }
    if record.tags:
        # Compact JSON array text, as the tags column holds it.
        row["tags"] = orjson.dumps(record.tags).decode("utf-8")
    if record.metadata is not None:
        row["metadata"] = record.metadata
    return row


def _isoformat(value: object) -> str:
    """Datetimes orjson does not write itself (subclasses), as it would write them."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")


def _render(query: sql.Composable) -> str:
    """A composed query as plain text: psycopg caches the parsing of text queries (not of
    ``Composed`` objects) and prepares those run often, which the hot path relies on."""
    return query.as_string(None)


class Queries:
    """The SQL of one table, composed once with its identifiers quoted."""

    def __init__(self, table_parameters: TableParameters) -> None:
        table = sql.Identifier(table_parameters.events_table_name)
        streams = sql.Identifier(table_parameters.streams_table_name)
        tags = sql.Identifier(table_parameters.tags_table_name)

        # -1 (NO_EVENTS) for an empty table, as every engine's head() says it.
        self.head = _render(
            sql.SQL("SELECT coalesce(max(sequence_number), -1) FROM {}").format(table)
        )
        # What a write transaction reads once it holds the lock, in one statement (each
        # statement costs the writer more than its rows do): the head; each written
        # stream's last position, from the streams table (one key lookup each, and what
        # conditions are judged from; streams without events have no row), as JSON
        # [category, stream, position] triples; and which of the given ids are stored, as
        # a JSON list (their records are read only then: a retry is rare).
        self.write_state = _render(
            sql.SQL(
                "SELECT (SELECT coalesce(max(sequence_number), -1) FROM {}),"
                " (SELECT coalesce(json_agg(json_build_array(s.category, s.stream,"
                " t.last_position)), '[]')::text"
                " FROM json_to_recordset(%s::json) AS s(category text, stream text)"
                ' JOIN {} AS t ON t.category = s.category COLLATE "C"'
                ' AND t.stream = s.stream COLLATE "C"),'
                " (SELECT coalesce(json_agg(id), '[]')::text FROM {}"
                " WHERE id = ANY(ARRAY(SELECT json_array_elements_text(%s::json))))"
            ).format(table, streams, table)
        )
        self.records_by_id = _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE id = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"
            ).format(_RECORD_COLUMNS, table)
        )
        # One statement inserts the events, moves each written stream's row in the streams
        # table to its last event (the index is never apart from the log), and sends the
        # commit's wake-up with the new head (delivered at commit, like the rows).
        # ``insert_tagged`` also adds a tags table row per tag of each event; a group
        # without tags is inserted without that step.
        insert = (
            "WITH inserted AS ("
            "INSERT INTO {events} (sequence_number, id, name, category, stream, position,"
            " payload, observed_at, occurred_at, tags, metadata)"
            " SELECT sequence_number, id, name, category, stream, position, payload::json,"
            " observed_at, occurred_at, tags, metadata::json"
            " FROM json_to_recordset(%s::json) AS r(sequence_number bigint, id text,"
            " name text, category text, stream text, position bigint, payload text,"
            " observed_at timestamptz, occurred_at timestamptz, tags text, metadata text)"
            " RETURNING category, stream, position, sequence_number, observed_at, tags),"
            " indexed AS ("
            " INSERT INTO {streams} AS t (category, stream, last_position,"
            " last_sequence_number, last_observed_at)"
            " SELECT DISTINCT ON (category, stream) category, stream, position,"
            " sequence_number, observed_at FROM inserted"
            " ORDER BY category, stream, position DESC"
            " ON CONFLICT (category, stream) DO UPDATE SET"
            " last_position = excluded.last_position,"
            " last_sequence_number = excluded.last_sequence_number,"
            " last_observed_at = excluded.last_observed_at RETURNING 1){tagged}"
            " SELECT pg_notify(%s, %s)"
        )
        tagged = sql.SQL(
            ", tagged AS (INSERT INTO {} (tag, sequence_number)"
            " SELECT tag, sequence_number FROM inserted,"
            " json_array_elements_text(inserted.tags::json) AS tag RETURNING 1)"
        ).format(tags)
        self.insert = _render(
            sql.SQL(insert).format(events=table, streams=streams, tagged=sql.SQL(""))
        )
        self.insert_tagged = _render(
            sql.SQL(insert).format(events=table, streams=streams, tagged=tagged)
        )
        # Where a read from an instant starts (``after_sequence_number_since``): before the
        # first event observed at or after it; the head when there is none. The rows
        # observed since are found through the observed-at BRIN index, so the cost follows
        # the part of the log the read will go on to read. OFFSET 0 keeps min() from being
        # planned as a walk of the primary key filtered on the time, which reads the whole
        # log when the instant is recent (the planner expects early matches).
        self.after_since = _render(
            sql.SQL(
                "SELECT coalesce((SELECT min(sequence_number) - 1 FROM (SELECT sequence_number"
                " FROM {} WHERE observed_at >= %s OFFSET 0) AS since),"
                " (SELECT coalesce(max(sequence_number), -1) FROM {}))"
            ).format(table, table)
        )
        self.query_sql = QuerySql(table_parameters)
        # A category's or a stream's events in a range of sequence numbers, counted in the
        # indexes (``count_records``).
        self.counts: dict[CountKind, str] = {
            "category": _render(
                sql.SQL(
                    "SELECT count(*) FROM {} WHERE category = %s"
                    " AND sequence_number > %s AND sequence_number <= %s"
                ).format(table)
            ),
            "stream": _render(
                sql.SQL(
                    "SELECT count(*) FROM {} WHERE category = %s AND stream = %s"
                    " AND sequence_number > %s AND sequence_number <= %s"
                ).format(table)
            ),
        }

        self._pages = _page_queries(table, _RECORD_COLUMNS)
        self._budgeted = {
            kind: _budgeted(query)
            for kind, query in _page_queries(
                table,
                _BUDGETED_COLUMNS,
            ).items()
        }

    @staticmethod
    def begin_write(
        lock_timeout: str, statement_timeout: str, idle_timeout: str, lock_key: int
    ) -> str:
        """The start of a write transaction, as one round trip: ``BEGIN`` at READ
        COMMITTED, the transaction's timeouts, and the table's lock.

        Two statements in one text, so the values are literals (ours, not a caller's) and
        the text must never be prepared. READ COMMITTED whatever the connection's default:
        the next statement's snapshot must be taken after the lock is held (a
        repeatable-read snapshot would be taken before it and miss the previous holder's
        commit).
        """
        return _render(
            sql.SQL(
                "BEGIN ISOLATION LEVEL READ COMMITTED;"
                " SELECT set_config('lock_timeout', {}, true),"
                " set_config('statement_timeout', {}, true),"
                " set_config('idle_in_transaction_session_timeout', {}, true),"
                " pg_advisory_xact_lock({})"
            ).format(
                sql.Literal(lock_timeout),
                sql.Literal(statement_timeout),
                sql.Literal(idle_timeout),
                sql.Literal(lock_key),
            )
        )

    def page(
        self, target: Scannable, after: int, last_position: int, size: int
    ) -> tuple[str, tuple[Any, ...]]:
        """The query and parameters of the next keyset page of ``target``."""
        if isinstance(target, Query):
            return self.query_sql.page(target, after, size, _RECORD_COLUMNS)
        kind, parameters = self._page_parameters(target, after, last_position, size)
        return self._pages[kind], parameters

    def budgeted_page(
        self,
        target: Scannable,
        after: int,
        last_position: int,
        size: int,
        budget: int,
        *,
        first: bool,
    ) -> tuple[str, tuple[Any, ...]]:
        """``page`` cut by ``within_bytes``'s rule: the rows whose payloads total at most
        ``budget`` bytes, and the first row anyway when ``first``."""
        if isinstance(target, Query):
            page, parameters = self.query_sql.page(target, after, size, _BUDGETED_COLUMNS)
            return _budgeted(page), (*parameters, budget, first)
        kind, parameters = self._page_parameters(target, after, last_position, size)
        return self._budgeted[kind], (*parameters, budget, first)

    @staticmethod
    def _page_parameters(
        target: Scannable, after: int, last_position: int, size: int
    ) -> tuple[str, tuple[Any, ...]]:
        match target:
            case identifier.Log():
                return "log", (after, size)
            case identifier.Category(category=category):
                return "category", (category, after, size)
            case identifier.Stream(category=category, stream=stream):
                return "stream", (category, stream, last_position, after, size)
        raise InvalidInputError("target", "must be a log, category, stream or query")


# A payload's size in bytes, as within_bytes counts it. A large uncompressed value stored
# out of line reports its exact size without being read; anything else (small, or
# compressed) is measured as text, which for a compressed value means decompressing it.
# Values over 8 KiB cannot be stored inline, so pg_column_size is their exact length there.
_PAYLOAD_SIZE = sql.SQL(
    "CASE WHEN pg_column_size(payload) > 8192 AND pg_column_compression(payload) IS NULL"
    " THEN pg_column_size(payload) ELSE octet_length(payload::text) END"
)

# The columns of a budgeted page's candidates: the payload as stored (not cast to text),
# so the rows a budget cuts off are never detoasted for output, and its size.
_BUDGETED_COLUMNS = sql.SQL(
    "id, name, stream, category, position, sequence_number, payload, observed_at,"
    " occurred_at, tags, metadata, {} AS size"
).format(_PAYLOAD_SIZE)


def _page_queries(table: sql.Identifier, columns: sql.Composable) -> dict[str, str]:
    """The keyset page query of each kind of target, selecting ``columns``."""
    return {
        "log": _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE sequence_number > %s ORDER BY sequence_number LIMIT %s"
            ).format(columns, table)
        ),
        "category": _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE category = %s AND sequence_number > %s"
                " ORDER BY sequence_number LIMIT %s"
            ).format(columns, table)
        ),
        "stream": _render(
            sql.SQL(
                "SELECT {} FROM {} WHERE category = %s AND stream = %s AND position > %s"
                " AND sequence_number > %s ORDER BY position LIMIT %s"
            ).format(columns, table)
        ),
    }


def _budgeted(page: str) -> str:
    """``page`` (selecting ``size``) cut where the running total of ``size`` passes a budget.

    Candidates and window both follow the page's order; the window streams, so PostgreSQL
    reads no more rows than the page's LIMIT.
    """
    return (
        "SELECT id, name, stream, category, position, sequence_number, payload::text,"
        " observed_at, occurred_at, tags, metadata::text FROM ("
        " SELECT *, sum(size) OVER w AS running, row_number() OVER w AS n"
        f" FROM ({page}) AS candidates"
        " WINDOW w AS (ORDER BY sequence_number ROWS UNBOUNDED PRECEDING)) AS cut"
        " WHERE running <= %s OR (n = 1 AND %s) ORDER BY sequence_number"
    )
