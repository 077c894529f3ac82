"""The consumers one engine serves, by group, so that changes made through it reach them
at once.

A member reads its group's definition at every tick (``member_timeout / 3``); members
served by another process (another server replica on the same database) learn of a reset,
a settings change, a replay or a deletion that way. Members in this process need not
wait: the engine tells them to tick now.
"""

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .consumer import LocalGroupConsumer

__all__ = ["LocalMembers"]


class LocalMembers:
    """The live consumers of each group in this process (thread-safe; held weakly, so a
    consumer dropped without ``close()`` is forgotten too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_group: dict[str, weakref.WeakSet[LocalGroupConsumer]] = {}

    def add(self, name: str, consumer: "LocalGroupConsumer") -> None:
        """Count ``consumer`` among group ``name``'s members here."""
        with self._lock:
            self._by_group.setdefault(name, weakref.WeakSet()).add(consumer)

    def changed(self, name: str) -> None:
        """Group ``name`` was changed: its members here read it again now."""
        with self._lock:
            members = list(self._by_group.get(name, ()))
        for consumer in members:
            consumer.tick_now()
