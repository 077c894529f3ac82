"""The SQL of a ``Query``: which sequence numbers match, each item from its own index.

A query is any of its items, so its matches are the union of each item's, and each item is
asked of the index that narrows it most, in sequence-number order, never by a scan of the
log:

- an item with tags walks the tags table's ``(tag, sequence_number)`` key for one tag, and
  checks its other tags in the same key (and its category, stream and names on the event
  found by its primary key);
- an item with a stream walks the stream's ``(category, stream, position)`` key (positions
  follow sequence numbers within a stream), one with a category ``(category,
  sequence_number)``;
- an item with names only walks ``(name, sequence_number)`` for each name;
- an item that sets nothing matches every event, and walks the log.

Each item's walk is ordered and limited, so PostgreSQL stops each one after as many rows
as are wanted: a page of a read (``QuerySql.page``) or the first match after a sequence
number (``QuerySql.first_matches``, for write conditions). The statements' shapes depend
on the query's shape only; values are parameters.
"""

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from logicblocks.event.types.query import Query, QueryItem

from .tables import TableParameters

__all__ = ["QuerySql"]

# Up to this many names, an item with names only walks the (name, sequence_number) index
# once per name, each walk in order; past it one bitmap over all the names is cheaper.
_NAME_WALKS = 8


class QuerySql:
    """The query statements of one table, composed per query shape."""

    def __init__(self, table_parameters: TableParameters) -> None:
        self._events = sql.Identifier(table_parameters.events_table_name)
        self._tags = sql.Identifier(table_parameters.tags_table_name)

    def page(
        self, query: Query, after: int, size: int, columns: sql.Composable
    ) -> tuple[str, tuple[Any, ...]]:
        """The next keyset page of ``query``: the first ``size`` matching events after
        ``after``, selecting ``columns`` of the events table, in sequence-number order.

        Only the matching sequence numbers are gathered from the indexes; the events'
        rows are then read by primary key, so only matching rows leave the database.
        (``= ANY(ARRAY(...))``, not a join: a join of a page's numbers may be planned as
        a hash join over a scan of the whole table.)
        """
        walks, parameters = self._walks(query, after, sql.Placeholder(), size)
        text = sql.SQL(
            "SELECT {columns} FROM {events} WHERE sequence_number = ANY(ARRAY("
            "SELECT matched FROM ({walks}) AS candidates ORDER BY matched LIMIT %s))"
            " ORDER BY sequence_number"
        ).format(
            columns=columns,
            walks=sql.SQL(" UNION ").join(walks),
            events=self._events,
        )
        return text.as_string(None), (*parameters, size)

    def first_matches(self, leaves: Sequence[tuple[Query, int]]) -> tuple[str, tuple[Any, ...]]:
        """One statement answering, for each ``(query, after)`` of ``leaves``, the lowest
        sequence number greater than ``after`` of an event matching ``query`` (NULL when
        none), one column per leaf in order."""
        columns: list[sql.Composable] = []
        parameters: list[Any] = []
        for query, after in leaves:
            walks, walk_parameters = self._walks(query, after, sql.Literal(1), None)
            # LEAST skips NULLs: the earliest of the items' first matches.
            columns.append(
                sql.SQL("LEAST({})").format(
                    sql.SQL(", ").join(sql.SQL("({})").format(walk) for walk in walks)
                )
            )
            parameters.extend(walk_parameters)
        return sql.SQL("SELECT {}").format(sql.SQL(", ").join(columns)).as_string(None), tuple(
            parameters
        )

    def _walks(
        self, query: Query, after: int, limit: sql.Composable, size: int | None
    ) -> tuple[list[sql.Composable], list[Any]]:
        """Each item's ordered, limited walk of its index (selecting ``matched``), and
        their parameters; ``size`` is the value of a ``limit`` placeholder (if one)."""
        walks: list[sql.Composable] = []
        parameters: list[Any] = []
        for item in query.items:
            for walk, walk_parameters in self._item_walks(item, after):
                walks.append(sql.SQL("({} LIMIT {})").format(walk, limit))
                parameters.extend(walk_parameters)
                if size is not None:
                    parameters.append(size)
        return walks, parameters

    def _item_walks(self, item: QueryItem, after: int) -> list[tuple[sql.Composable, list[Any]]]:
        """The ordered walks (without their limit) whose union is ``item``'s matches."""
        if item.tags:
            return [self._tag_walk(item, after)]
        if item.category is not None:
            return [self._category_walk(item, after)]
        if item.names and len(item.names) <= _NAME_WALKS:
            return [
                (
                    sql.SQL(
                        "SELECT sequence_number AS matched FROM {} WHERE name = %s"
                        " AND sequence_number > %s ORDER BY sequence_number"
                    ).format(self._events),
                    [name, after],
                )
                for name in sorted(item.names)
            ]
        if item.names:
            return [
                (
                    sql.SQL(
                        "SELECT sequence_number AS matched FROM {} WHERE name = ANY(%s)"
                        " AND sequence_number > %s ORDER BY sequence_number"
                    ).format(self._events),
                    [sorted(item.names), after],
                )
            ]
        return [
            (
                sql.SQL(
                    "SELECT sequence_number AS matched FROM {} WHERE sequence_number > %s"
                    " ORDER BY sequence_number"
                ).format(self._events),
                [after],
            )
        ]

    def _tag_walk(self, item: QueryItem, after: int) -> tuple[sql.Composable, list[Any]]:
        """``item``'s matches along the tags key of its first tag (in code point order)."""
        first, *others = sorted(item.tags)
        conditions: list[sql.Composable] = [sql.SQL("t.tag = %s AND t.sequence_number > %s")]
        parameters: list[Any] = [first, after]
        for other in others:
            conditions.append(
                sql.SQL(
                    "EXISTS (SELECT 1 FROM {} AS o WHERE o.tag = %s"
                    " AND o.sequence_number = t.sequence_number)"
                ).format(self._tags)
            )
            parameters.append(other)
        event_conditions, event_parameters = _event_conditions(item, "e.")
        join: sql.Composable = sql.SQL("")
        if event_conditions:
            join = sql.SQL(" JOIN {} AS e ON e.sequence_number = t.sequence_number").format(
                self._events
            )
            conditions.extend(event_conditions)
            parameters.extend(event_parameters)
        walk = sql.SQL(
            "SELECT t.sequence_number AS matched FROM {} AS t{} WHERE {} ORDER BY t.sequence_number"
        ).format(self._tags, join, sql.SQL(" AND ").join(conditions))
        return walk, parameters

    def _category_walk(self, item: QueryItem, after: int) -> tuple[sql.Composable, list[Any]]:
        """``item``'s matches along its stream's key, or its category's."""
        conditions, parameters = _event_conditions(item, "")
        conditions.append(sql.SQL("sequence_number > %s"))
        parameters.append(after)
        # Within a stream positions follow sequence numbers: the stream's own key serves
        # the order, where the category's would walk every other stream's events too.
        order = sql.SQL("position" if item.stream is not None else "sequence_number")
        walk = sql.SQL("SELECT sequence_number AS matched FROM {} WHERE {} ORDER BY {}").format(
            self._events, sql.SQL(" AND ").join(conditions), order
        )
        return walk, parameters


def _event_conditions(item: QueryItem, prefix: str) -> tuple[list[sql.Composable], list[Any]]:
    """``item``'s category, stream and names as conditions on an events row."""
    conditions: list[sql.Composable] = []
    parameters: list[Any] = []
    if item.category is not None:
        conditions.append(sql.SQL(f"{prefix}category = %s"))
        parameters.append(item.category)
    if item.stream is not None:
        conditions.append(sql.SQL(f"{prefix}stream = %s"))
        parameters.append(item.stream)
    if item.names:
        conditions.append(sql.SQL(f"{prefix}name = ANY(%s)"))
        parameters.append(sorted(item.names))
    return conditions, parameters
