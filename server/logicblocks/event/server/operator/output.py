"""Where the operator commands write: JSON lines on standard output, tables, one-line errors.

JSON lines are the default because they pipe into ``jq``, ``grep`` and ``import``; a table
(``--format table``) is for reading on a terminal. Tables are drawn by ``rich``, which
measures wide characters correctly; in a pipe they are not cut to the terminal's width.
"""

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from logicblocks.event.types import StoredEvent

from .events_json import event_to_json, rfc3339

__all__ = ["EVENT_COLUMNS", "JsonLines", "complain", "print_rows", "print_table", "table_value"]

# What a table of events shows; the full event is in the JSON lines.
EVENT_COLUMNS = ("sequence_number", "category", "stream", "position", "name", "occurred_at")


class JsonLines:
    """Writes one compact JSON object per line; ``flush_each`` for commands that follow
    the store, so a reader downstream sees each event as it arrives."""

    def __init__(self, out: TextIO | None = None, *, flush_each: bool = False):
        self.out = out if out is not None else sys.stdout
        self.flush_each = flush_each

    def write(self, value: Mapping[str, Any]) -> None:
        """Write ``value`` as one line."""
        self.out.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")
        if self.flush_each:
            self.out.flush()

    def write_event(self, event: StoredEvent) -> None:
        """Write every field of ``event`` as one line."""
        self.write(event_to_json(event))


def table_value(value: Any) -> str:
    """A cell: text as it is, timestamps in RFC 3339, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return rfc3339(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO | None = None
) -> None:
    """Print ``rows`` under ``columns`` as an aligned table."""
    # rich takes a quarter of a second to import: only the commands that draw pay for it.
    from rich.console import Console
    from rich.table import Table

    stream = out if out is not None else sys.stdout
    # In a pipe rich would assume 80 columns and cut the rows; there the table is as
    # wide as its content.
    console = Console(file=stream, width=None if stream.isatty() else 100_000, highlight=False)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*(table_value(value) for value in row))
    console.print(table)


def print_rows(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], form: str) -> None:
    """Print ``rows`` as JSON lines (``form`` "json") or as a table of ``columns``."""
    if form == "table":
        print_table(columns, ([row[column] for column in columns] for row in rows))
        return
    out = JsonLines()
    for row in rows:
        out.write(row)


def complain(message: str) -> None:
    """Tell the user what went wrong, on one line of standard error."""
    line = " ".join(str(message).split())
    print(f"logicblocks-event-store: {line}", file=sys.stderr)
