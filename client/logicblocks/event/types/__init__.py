"""The value types of the event store: events, projections and identifiers."""

from . import identifier
from .clock import Clock, StaticClock, SystemClock
from .event import NewEvent, StoredEvent
from .projection import Projection
from .query import Query, QueryItem

__all__ = [
    "Clock",
    "NewEvent",
    "Projection",
    "Query",
    "QueryItem",
    "StaticClock",
    "StoredEvent",
    "SystemClock",
    "identifier",
]
