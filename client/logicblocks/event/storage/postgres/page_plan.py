"""``PagePlan``: the keyset pages of one read, without the I/O."""

from collections.abc import Sequence
from typing import Any

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.records import EventRecord

from ..engine import payload_bytes
from .queries import Queries, record_from_row

__all__ = ["PagePlan"]

_PAGE_SIZE = 1000


class PagePlan:
    """The keyset pages of one read (``read_records``), without the I/O.

    ``next_query()`` gives the next page's query and parameters (``None`` once the read is
    complete); ``take(rows)`` turns that page's rows into records and moves on. Each page
    is its own short query, so a slow reader holds no transaction or connection between
    pages. Pages follow the sequence number (the position within a stream, which orders
    the same way), never OFFSET. A byte budget is applied in SQL (``Queries.budgeted_page``):
    PostgreSQL sends a whole result at once, so rows past it must never leave the server.
    """

    def __init__(
        self,
        queries: Queries,
        target: Scannable,
        after: int,
        limit: int | None,
        max_bytes: int | None,
    ) -> None:
        self._queries = queries
        self._target = target
        self._after = after
        self._last_position = -1
        self._remaining = limit
        self._budget = max_bytes
        self._max_bytes = max_bytes
        self._size = 0
        self._done = limit is not None and limit <= 0

    def next_query(self) -> tuple[str, tuple[Any, ...]] | None:
        """The next page's query and parameters, or ``None`` when nothing is left to read."""
        if self._done:
            return None
        remaining = self._remaining
        self._size = _PAGE_SIZE if remaining is None else min(_PAGE_SIZE, remaining)
        if self._budget is None:
            return self._queries.page(self._target, self._after, self._last_position, self._size)
        return self._queries.budgeted_page(
            self._target,
            self._after,
            self._last_position,
            self._size,
            self._budget,
            first=self._budget == self._max_bytes,
        )

    def take(self, rows: Sequence[Sequence[Any]]) -> list[EventRecord]:
        """The records of the page ``next_query()`` asked for; decides whether more follow."""
        records = [record_from_row(row) for row in rows]
        if len(records) < self._size:
            self._done = True
            return records
        if self._budget is not None:
            self._budget -= sum(payload_bytes(record) for record in records)
            if self._budget <= 0:
                self._done = True
                return records
        self._after, self._last_position = records[-1].sequence_number, records[-1].position
        if self._remaining is not None:
            self._remaining -= len(records)
            self._done = self._remaining <= 0
        return records
