"""The value types of the event store: events, projections and identifiers."""

from . import identifier
from .clock import Clock, StaticClock, SystemClock
from .event import NewEvent, StoredEvent
from .projection import Projection

__all__ = [
    "Clock",
    "NewEvent",
    "Projection",
    "StaticClock",
    "StoredEvent",
    "SystemClock",
    "identifier",
]
