"""Queries in SQL: the schema that answers them, and the statements that find the events a
``Query`` matches from indexes, never from a scan of the log.

Schema version 3 adds the events' ``tags`` (JSON array text) and ``metadata`` (JSON object
text) columns, NULL when an event has none (so events stored before it read back with
none), the tags table (one ``(tag, sequence_number)`` row per tag of an event, filled in
the publish's own transaction; events stored before it have no tags, so it starts empty)
and indexes on the events' names and observed times.

A query is any of its items. Each item is read through one index, chosen by what it sets:
its first tag's rows in the tags table (its other tags joined by primary key), else its
stream's index, else the index of names (one branch per name), else its category's index;
whatever the index does not cover filters the rows it yields, in SQL. Every branch yields
sequence numbers in order, at most a page of them, and SQLite merges the branches (UNION
drops an event two items match), so a page costs about what its rows do wherever it starts,
and only matching rows leave the database.
"""

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from logicblocks.event.types.query import Query, QueryItem

from .rows import COLUMNS, EVENT_COLUMNS

__all__ = ["Statement", "add_query_indexes", "first_match", "page_statement"]

# Branches per statement, well under SQLite's 500 terms of a compound SELECT: past it, an
# item's names share one branch (correct, but it sorts their matches rather than merging).
MAX_BRANCHES = 200
# The bound of a lookup under the write lock, where everything stored is committed.
_NO_BOUND = 2**63 - 1

_COLUMNS_ADDED = ("tags", "metadata")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, sequence_number INTEGER NOT NULL,"
    " PRIMARY KEY (tag, sequence_number)) STRICT, WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS events_by_name ON events (name, sequence_number)",
    # For reads from a time: the first event observed at or after it.
    "CREATE INDEX IF NOT EXISTS events_by_observed_at ON events (observed_at)",
)


def add_query_indexes(connection: sqlite3.Connection) -> None:
    """Schema version 3 (inside the migration's transaction).

    It adds only what is missing, so a file whose recorded version was set back by hand
    (as the tests of older migrations do) migrates as well.
    """
    present = {row[1] for row in connection.execute("PRAGMA table_info(events)")}
    for column in _COLUMNS_ADDED:
        if column not in present:
            connection.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT")
    for statement in _SCHEMA:
        connection.execute(statement)


@dataclass(frozen=True)
class Statement:
    """SQL and its named parameters but ``:after``, ``:bound`` and ``:limit``: the rows
    with sequence numbers in ``(:after, :bound]``, in order, at most ``:limit`` (-1: all)."""

    sql: str
    parameters: Mapping[str, object]

    def bind(self, *, after: int, bound: int, limit: int) -> dict[str, object]:
        """All the statement's parameters."""
        return {**self.parameters, "after": after, "bound": bound, "limit": limit}


_RANGE = "{0} > :after AND {0} <= :bound"
_LOG = Statement(
    f"SELECT {COLUMNS} FROM events WHERE {_RANGE.format('sequence_number')}"
    " ORDER BY sequence_number LIMIT :limit",
    {},
)


class _Parameters:
    """The named parameters of one statement as it is built."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def bind(self, value: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"

    def bind_all(self, values: Iterable[str]) -> str:
        return ", ".join(self.bind(value) for value in sorted(values))


def _matches_all(item: QueryItem) -> bool:
    return item.category is None and not item.names and not item.tags


def _by_names(item: QueryItem) -> bool:
    """Whether ``item`` is read through the index of names."""
    return not item.tags and item.stream is None and bool(item.names)


def _events_branch(index: str, filters: list[str]) -> str:
    where = " AND ".join([*filters, _RANGE.format("sequence_number")])
    return (
        f"SELECT sequence_number AS s FROM events INDEXED BY {index} WHERE {where}"
        " ORDER BY sequence_number LIMIT :limit"
    )


def _tags_branch(item: QueryItem, parameters: _Parameters) -> str:
    first, *others = sorted(item.tags)
    where = [f"t0.tag = {parameters.bind(first)}", _RANGE.format("t0.sequence_number")]
    # EXISTS, not joins: an item may hold more tags than SQLite joins tables (64).
    where.extend(
        f"EXISTS (SELECT 1 FROM tags AS t{index} WHERE t{index}.tag = {parameters.bind(tag)}"
        f" AND t{index}.sequence_number = t0.sequence_number)"
        for index, tag in enumerate(others, 1)
    )
    if item.category is not None:
        where.append(f"e.category = {parameters.bind(item.category)}")
    if item.stream is not None:
        where.append(f"e.stream = {parameters.bind(item.stream)}")
    if item.names:
        where.append(f"e.name IN ({parameters.bind_all(item.names)})")
    # CROSS JOIN keeps the tag's rows outermost: they come in sequence order, unsorted.
    join = (
        " CROSS JOIN events AS e ON e.sequence_number = t0.sequence_number"
        if item.category is not None or item.stream is not None or item.names
        else ""
    )
    return (
        f"SELECT t0.sequence_number AS s FROM tags AS t0{join}"
        f" WHERE {' AND '.join(where)} ORDER BY t0.sequence_number LIMIT :limit"
    )


def _branches(item: QueryItem, parameters: _Parameters, split_names: bool) -> list[str]:
    if item.tags:
        return [_tags_branch(item, parameters)]
    category = [] if item.category is None else [f"category = {parameters.bind(item.category)}"]
    if item.stream is not None:
        stream = [f"stream = {parameters.bind(item.stream)}"]
        names = [f"name IN ({parameters.bind_all(item.names)})"] if item.names else []
        return [_events_branch("events_by_stream", [*category, *stream, *names])]
    if item.names and split_names:
        return [
            _events_branch("events_by_name", [f"name = {parameters.bind(name)}", *category])
            for name in sorted(item.names)
        ]
    if item.names:
        names = [f"name IN ({parameters.bind_all(item.names)})"]
        return [_events_branch("events_by_name", [*names, *category])]
    return [_events_branch("events_by_category", category)]


def _matching(query: Query) -> Statement | None:
    """The sequence numbers ``s`` of the events matching ``query``; ``None`` when an item
    matches every event (the query is the log)."""
    items = list(dict.fromkeys(query.items))
    if any(_matches_all(item) for item in items):
        return None
    branch_count = sum(len(item.names) if _by_names(item) else 1 for item in items)
    parameters = _Parameters()
    branches = [
        branch
        for item in items
        for branch in _branches(item, parameters, branch_count <= MAX_BRANCHES)
    ]
    if len(branches) == 1:
        return Statement(branches[0], parameters.values)
    merged = " UNION ".join(f"SELECT s FROM ({branch})" for branch in branches)
    return Statement(f"{merged} ORDER BY s LIMIT :limit", parameters.values)


def page_statement(query: Query) -> Statement:
    """The rows (``rows.COLUMNS``) of the events matching ``query``."""
    matching = _matching(query)
    if matching is None:
        return _LOG
    return Statement(
        f"SELECT {EVENT_COLUMNS} FROM ({matching.sql}) AS m"
        " CROSS JOIN events AS e ON e.sequence_number = m.s ORDER BY m.s",
        matching.parameters,
    )


def first_match(connection: sqlite3.Connection, query: Query, after: int) -> int | None:
    """The first event matching ``query`` after ``after`` (see ``ConditionState``)."""
    matching = _matching(query)
    if matching is None:
        row = connection.execute(
            "SELECT min(sequence_number) FROM events WHERE sequence_number > ?", (after,)
        ).fetchone()
        return None if row[0] is None else int(row[0])
    row = connection.execute(
        matching.sql, matching.bind(after=after, bound=_NO_BOUND, limit=1)
    ).fetchone()
    return None if row is None else int(row[0])
