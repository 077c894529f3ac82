"""``GroupState``: what a group commit's publishes are judged and numbered against.

The group's transaction reads the table once, under the lock (the head, the written
streams' last positions, the first match of each query condition); each publish of the
group is then judged in the table's state *plus* the publishes accepted before it in the
same group, which are not in the table yet. This is that running state, without the I/O.
"""

from collections.abc import Iterable, Mapping, Sequence, Set

from logicblocks.event.store.conditions import WriteCondition, condition_queries
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query

__all__ = ["GroupState", "publish_queries"]


def publish_queries(
    publishes: Iterable[tuple[Sequence[PendingWrite], Set[WriteCondition]]],
) -> list[tuple[Query, int]]:
    """Each distinct ``(query, after)`` the query conditions of ``publishes`` (their writes'
    and their own) may ask about, in the order first met: what the group looks up."""
    leaves: dict[tuple[Query, int], None] = {}
    for writes, conditions in publishes:
        for write in writes:
            leaves.update(dict.fromkeys(condition_queries(write.conditions)))
        leaves.update(dict.fromkeys(condition_queries(conditions)))
    return list(leaves)


class GroupState:
    """A ``ConditionState`` over the table as read under the lock and the group so far.

    ``positions`` holds the last position of each stream the group writes (streams with
    no events absent), ``first_matches`` the table's answer for each ``(query, after)``
    of the group's query conditions (``publish_queries``), and ``known_ids`` the records
    of the group's event ids already stored. ``accept`` adds a publish's records.
    """

    def __init__(
        self,
        *,
        head: int,
        positions: Mapping[tuple[str, str], int],
        first_matches: Mapping[tuple[Query, int], int | None],
        known_ids: dict[str, EventRecord],
    ) -> None:
        self.head = head
        self.known_ids = known_ids
        self._positions: dict[tuple[str, str], int] = dict(positions)
        self._first_matches = first_matches
        self._accepted: list[EventRecord] = []

    def last_position(self, target: identifier.Stream) -> int | None:
        """The stream's last position: the group's last event in it, or the table's."""
        return self._positions.get((target.category, target.stream))

    def first_match(self, query: Query, after: int) -> int | None:
        """The first event after ``after`` matching ``query``: from the table when it has
        one (every event of the group comes after the table's), else the group's first."""
        try:
            stored = self._first_matches[(query, after)]
        except KeyError:
            raise RuntimeError(f"the group did not look up {query!r} after {after}") from None
        if stored is not None:
            return stored
        for record in self._accepted:
            if record.sequence_number > after and query.matches(
                category=record.category, stream=record.stream, name=record.name, tags=record.tags
            ):
                return record.sequence_number
        return None

    def accept(self, records: Sequence[EventRecord]) -> None:
        """Count a publish's ``records`` in: the head, positions, ids and query matches of
        the publishes judged after it."""
        if not records:
            return
        self.head = records[-1].sequence_number
        for record in records:
            self._positions[(record.category, record.stream)] = record.position
            self.known_ids[record.id] = record
        self._accepted.extend(records)
