"""The listings and the summary, answered from the streams table (each stream's last event).

The queries and the shapes of their rows, without the I/O (the engine runs them).

The table is kept by the publish's own insert (see ``Queries.insert``), so these read an
index whose size is the number of streams, never the log. Its names are collated "C":
code point order, as in every engine, served by the primary key's index.
"""

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from psycopg import sql

from logicblocks.event.store.listing import (
    CategorySummary,
    StoreSummary,
    StreamSummary,
    prefix_upper_bound,
)

from .queries import single_int
from .tables import TableParameters

__all__ = ["Listing"]


class Listing:
    """The listing queries of one table, composed once."""

    def __init__(self, table_parameters: TableParameters) -> None:
        table = sql.Identifier(table_parameters.events_table_name)
        streams = sql.Identifier(table_parameters.streams_table_name)
        # Names are never empty, so '' comes before every one.
        self._categories = (
            sql.SQL(
                "SELECT category, count(*), sum(last_position + 1), max(last_sequence_number)"
                " FROM {} WHERE category > %s GROUP BY category ORDER BY category LIMIT %s"
            )
            .format(streams)
            .as_string(None)
        )
        streams_page = (
            "SELECT stream, last_position, last_sequence_number, last_observed_at FROM {}"
            " WHERE category = %s AND stream > %s AND stream >= %s{} ORDER BY stream LIMIT %s"
        )
        # Plain text: psycopg prepares text queries run often (see queries._render).
        self._streams = sql.SQL(streams_page).format(streams, sql.SQL("")).as_string(None)
        self._streams_below = (
            sql.SQL(streams_page).format(streams, sql.SQL(" AND stream < %s")).as_string(None)
        )
        # One statement: one snapshot, so the figures agree with each other.
        self._summary = (
            sql.SQL(
                "SELECT (SELECT coalesce(max(sequence_number), -1) FROM {}),"
                " (SELECT count(DISTINCT category) FROM {}), (SELECT count(*) FROM {})"
            )
            .format(table, streams, streams)
            .as_string(None)
        )

    def categories(self, after: str | None, limit: int) -> tuple[str, tuple[Any, ...]]:
        """The query and parameters of ``RecordStorageAdapter.list_categories``."""
        return self._categories, (after or "", limit)

    @staticmethod
    def categories_from_rows(rows: Sequence[Sequence[Any]]) -> Sequence[CategorySummary]:
        """The summaries in the rows ``categories`` selected."""
        return [
            CategorySummary(
                category=row[0],
                streams=int(row[1]),
                events=int(row[2]),
                last_sequence_number=int(row[3]),
            )
            for row in rows
        ]

    def streams(
        self, category: str, prefix: str, after: str | None, limit: int
    ) -> tuple[str, tuple[Any, ...]]:
        """The query and parameters of ``RecordStorageAdapter.list_streams``."""
        bound = prefix_upper_bound(prefix)
        if bound is None:
            return self._streams, (category, after or "", prefix, limit)
        return self._streams_below, (category, after or "", prefix, bound, limit)

    @staticmethod
    def streams_from_rows(category: str, rows: Sequence[Sequence[Any]]) -> Sequence[StreamSummary]:
        """The summaries in the rows ``streams`` selected."""
        return [
            StreamSummary(
                category=category,
                stream=row[0],
                last_position=row[1],
                last_sequence_number=row[2],
                last_observed_at=row[3].astimezone(UTC),
            )
            for row in rows
        ]

    @property
    def summary(self) -> str:
        """The query of ``RecordStorageAdapter.summary``."""
        return self._summary

    @staticmethod
    def summary_from_row(row: Sequence[Any] | None) -> StoreSummary:
        """The summary in the row ``summary`` selected."""
        head = single_int(row)
        assert row is not None  # single_int refuses a missing row
        return StoreSummary(
            storage="postgresql", head=head, categories=int(row[1]), streams=int(row[2])
        )
