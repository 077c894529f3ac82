"""What the group records contract's tests share: the fixtures a subclass fills, and the
groups, parked events and targets the tests store."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from logicblocks.event.storage.groups.records import (
    GroupDefinition,
    GroupRecords,
    PartitionProgress,
)
from logicblocks.event.store.groups import FROM_BEGINNING, GroupSettings, GroupTarget, ParkedEvent
from logicblocks.event.types import identifier
from logicblocks.event.types.query import Query, QueryItem

__all__ = ["NAMED", "TARGETS", "GroupRecordsFixtures", "make_definition", "make_parked"]

_ORDERS = identifier.Category(category="orders")


def make_definition(name: str = "billing", **changes: Any) -> GroupDefinition:
    """A group following the orders category from the beginning, with ``changes``."""
    values: dict[str, Any] = {
        "name": name,
        "target": _ORDERS,
        "start": FROM_BEGINNING,
        "start_after": -1,
        "settings": GroupSettings(partitions=8),
    }
    values.update(changes)
    return GroupDefinition(**values)


def make_parked(number: int, partition: int, **changes: Any) -> ParkedEvent:
    """The event numbered ``number``, parked in ``partition``, with ``changes``."""
    values: dict[str, Any] = {
        "sequence_number": number,
        "event_id": f"event-{number}",
        "category": "orders",
        "stream": f"order-{number}",
        "position": number % 5,
        "partition": partition,
        "reason": "payment service said no",
        "attempts": 6,
        "parked_at": datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    }
    values.update(changes)
    return ParkedEvent(**values)


# Every method that names a group, called on one that does not exist.
NAMED: dict[str, Callable[[GroupRecords], object]] = {
    "update": lambda r: r.update("missing", GroupSettings()),
    "get": lambda r: r.get("missing"),
    "reset": lambda r: r.reset("missing", FROM_BEGINNING, -1),
    "delete": lambda r: r.delete("missing"),
    "heartbeat": lambda r: r.heartbeat("missing", "m", now=0.0, expires_at=1.0),
    "members": lambda r: r.members("missing", now=0.0),
    "claim": lambda r: r.claim(
        "missing", generation=0, partition=0, member="m", now=0.0, lease_until=1.0
    ),
    "renew": lambda r: r.renew("missing", generation=0, member="m", partitions={0}, lease_until=1),
    "save": lambda r: r.save(
        "missing", generation=0, member="m", progress=[PartitionProgress(0, 1)]
    ),
    "release": lambda r: r.release("missing", generation=0, member="m", partitions={0}),
    "progress": lambda r: r.progress("missing"),
    "parked": lambda r: r.parked("missing"),
    "parked_count": lambda r: r.parked_count("missing"),
    "replaying": lambda r: r.replaying("missing", {0}),
    "replay": lambda r: r.replay("missing", None),
    "drop": lambda r: r.drop("missing", [1]),
}

# One target of each kind; the query has several items, names and tags, and non-ASCII text.
TARGETS: list[GroupTarget] = [
    identifier.Log(),
    identifier.Category(category="orders"),
    identifier.Stream(category="orders", stream="order-1"),
    Query(
        items=[
            QueryItem(category="orders", names=["placed", "paid"], tags=["region:eu", "vip"]),
            QueryItem(category="carts", stream="cart-é", tags=["ünïcode"]),
            QueryItem(names=["refunded"]),
            QueryItem(),
        ]
    ),
]


class GroupRecordsFixtures:
    """``group_records_pair`` (a subclass provides it) and ``group_records``, its first."""

    @pytest.fixture
    def group_records_pair(self) -> tuple[GroupRecords, GroupRecords]:
        raise NotImplementedError("subclasses provide group_records_pair")

    @pytest.fixture
    def group_records(self, group_records_pair: tuple[GroupRecords, GroupRecords]) -> GroupRecords:
        return group_records_pair[0]
