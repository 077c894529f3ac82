"""The rules of tags and queries, checked once for every engine and both faces.

A tag is a name (non-empty, storable: see ``records``); an event carries at most
``MAX_TAGS``. A query has between one and ``MAX_QUERY_ITEMS`` items; an item's stream
needs its category. Errors name the field by its path in the request, as the wire does:
``events[0].tags[2]``, ``query.items[1].stream``.
"""

from collections.abc import Iterable, Mapping

from logicblocks.event.types.query import Query, QueryItem

from .exceptions import InvalidInputError
from .names import require_name

__all__ = ["MAX_QUERY_ITEMS", "MAX_TAGS", "validate_query", "validate_tags"]

# Bounds that keep one event's index rows and one query's SQL small.
MAX_TAGS = 100
MAX_QUERY_ITEMS = 100
MAX_QUERY_VALUES = 100


def validate_tags(field: str, tags: Iterable[str]) -> tuple[str, ...]:
    """The tags, checked, without repeats, in code point order (the order stored)."""
    if isinstance(tags, (str, bytes, Mapping)):
        raise InvalidInputError(field, "must be a collection of strings")
    checked = sorted(set(tags)) if not isinstance(tags, list) else _checked_list(field, tags)
    if len(checked) > MAX_TAGS:
        raise InvalidInputError(field, f"must hold at most {MAX_TAGS} tags")
    for index, tag in enumerate(checked):
        require_name(f"{field}[{index}]", tag)
    return tuple(checked)


def _checked_list(field: str, tags: list[str]) -> list[str]:
    # A list comes from the wire, in the order sent: its paths follow that order.
    for index, tag in enumerate(tags):
        require_name(f"{field}[{index}]", tag)
    return sorted(set(tags))


def validate_query(field: str, query: object) -> Query:
    """``query`` checked, or ``InvalidInputError`` naming the first offending field."""
    if not isinstance(query, Query):
        raise InvalidInputError(field, "must be a Query")
    if not query.items:
        raise InvalidInputError(f"{field}.items", "must hold at least one item")
    if len(query.items) > MAX_QUERY_ITEMS:
        raise InvalidInputError(f"{field}.items", f"must hold at most {MAX_QUERY_ITEMS} items")
    for index, item in enumerate(query.items):
        _validate_item(f"{field}.items[{index}]", item)
    return query


def _validate_item(field: str, item: object) -> None:
    if not isinstance(item, QueryItem):
        raise InvalidInputError(field, "must be a QueryItem")
    if item.category is not None:
        require_name(f"{field}.category", item.category)
    if item.stream is not None:
        if item.category is None:
            raise InvalidInputError(f"{field}.stream", "needs the item's category")
        require_name(f"{field}.stream", item.stream)
    for part, values in (("names", item.names), ("tags", item.tags)):
        if len(values) > MAX_QUERY_VALUES:
            raise InvalidInputError(f"{field}.{part}", f"must hold at most {MAX_QUERY_VALUES}")
        for index, value in enumerate(sorted(values, key=str)):
            require_name(f"{field}.{part}[{index}]", value)
