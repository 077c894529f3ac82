"""The events every subject writes and reads: one shape, one payload size, for all."""

import json
from datetime import UTC, datetime
from typing import Any

from logicblocks.event.types import NewEvent

__all__ = ["CATEGORY", "EVENT_NAME", "new_events", "now", "payload", "payload_text"]

CATEGORY = "bench"
EVENT_NAME = "order-placed"


def payload(index: int) -> dict[str, Any]:
    """A small, typical payload (about 120 bytes of JSON)."""
    return {
        "index": index,
        "order": f"order-{index:08d}",
        "amount": 1234.5,
        "currency": "GBP",
        "lines": [{"sku": "sku-1", "quantity": 2}, {"sku": "sku-2", "quantity": 1}],
    }


def payload_text(index: int) -> str:
    """``payload(index)`` as JSON text, as the raw baselines store it."""
    return json.dumps(payload(index), separators=(",", ":"))


def new_events(count: int, start: int = 0) -> list[NewEvent]:
    """``count`` events for one publish."""
    return [NewEvent(name=EVENT_NAME, payload=payload(start + i)) for i in range(count)]


def now() -> datetime:
    """The current time, as our store records it."""
    return datetime.now(UTC)
