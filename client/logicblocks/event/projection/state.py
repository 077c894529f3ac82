"""The state a projector hands to its handlers."""

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["ProjectionState"]


class ProjectionState(Mapping[str, Any]):
    """An immutable mapping with ``merge``, so handlers can write ``state.merge({...})``.

    It compares equal to any mapping with the same items, so a projection's state can be
    checked against a plain dict.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None):
        self._items: dict[str, Any] = dict(items or {})

    def merge(self, other: Mapping[str, Any]) -> "ProjectionState":
        """A new state with ``other``'s items added to (and replacing) this one's."""
        return ProjectionState({**self._items, **other})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._items == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items(), key=lambda item: item[0])))

    def __repr__(self) -> str:
        return repr(self._items)
