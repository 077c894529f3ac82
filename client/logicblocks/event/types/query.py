"""Queries: a selection of events by category, stream, event name and tags.

A ``Query`` is any of its ``QueryItem``s; an item matches an event when every criterion it
sets holds: the category (and, with it, the stream), one of the names, all of the tags.
The same value selects what a read returns (``store.query(...)``) and what a write
condition looks at (``no_event_matches``). These are values only: the store checks them
(``logicblocks.event.store.selection``) and each engine evaluates them, from its indexes.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .identifier import Identifier
from .json_text import dumps

__all__ = ["Query", "QueryItem"]


@dataclass(frozen=True)
class QueryItem:
    """Events of ``category`` (of its ``stream``, when given), named one of ``names``
    (any name when empty), carrying every tag of ``tags`` (and maybe others).

    An item that sets nothing matches every event.
    """

    category: str | None
    stream: str | None
    names: frozenset[str]
    tags: frozenset[str]

    def __init__(
        self,
        *,
        category: str | None = None,
        stream: str | None = None,
        names: Iterable[str] = (),
        tags: Iterable[str] = (),
    ):
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "stream", stream)
        # A lone string is one name or tag, not its characters.
        object.__setattr__(self, "names", frozenset((names,) if isinstance(names, str) else names))
        object.__setattr__(self, "tags", frozenset((tags,) if isinstance(tags, str) else tags))

    def matches(self, *, category: str, stream: str, name: str, tags: Iterable[str]) -> bool:
        """Whether an event of ``category``/``stream`` named ``name`` with ``tags`` matches."""
        if self.category is not None and category != self.category:
            return False
        if self.stream is not None and stream != self.stream:
            return False
        if self.names and name not in self.names:
            return False
        return not self.tags or self.tags.issubset(tags)

    def __repr__(self) -> str:
        given = [
            f"{field}={value!r}"
            for field, value in (
                ("category", self.category),
                ("stream", self.stream),
                ("names", sorted(self.names) or None),
                ("tags", sorted(self.tags) or None),
            )
            if value is not None
        ]
        return f"QueryItem({', '.join(given)})"


@dataclass(frozen=True)
class Query(Identifier):
    """Events matching any of ``items``; read like a category, and a condition's scope.

    ``Query.of(...)`` makes a query of one item. A query is also a read target: the store
    reads and follows the events it matches, in sequence-number order.
    """

    items: tuple[QueryItem, ...]

    def __init__(self, *, items: Iterable[QueryItem]):
        object.__setattr__(self, "items", tuple(items))

    @classmethod
    def of(
        cls,
        *,
        category: str | None = None,
        stream: str | None = None,
        names: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> "Query":
        """A query of one item (see ``QueryItem``)."""
        return cls(items=[QueryItem(category=category, stream=stream, names=names, tags=tags)])

    def matches(self, *, category: str, stream: str, name: str, tags: Iterable[str]) -> bool:
        """Whether an event with these fields matches any item."""
        tag_set = tags if isinstance(tags, (set, frozenset)) else frozenset(tags)
        return any(
            item.matches(category=category, stream=stream, name=name, tags=tag_set)
            for item in self.items
        )

    def __or__(self, other: "Query") -> "Query":
        """Events matching either query."""
        if not isinstance(other, Query):
            return NotImplemented
        return Query(items=(*self.items, *other.items))

    def json(self) -> str:
        return dumps(
            {
                "type": "query",
                "items": [
                    {
                        "category": item.category,
                        "stream": item.stream,
                        "names": sorted(item.names),
                        "tags": sorted(item.tags),
                    }
                    for item in self.items
                ],
            }
        )

    def __repr__(self) -> str:
        return f"Query(items={list(self.items)!r})"

    def __hash__(self) -> int:
        return hash(self.items)
