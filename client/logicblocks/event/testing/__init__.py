"""Test support for applications of the event store: builders and random data."""

from . import builders, data
from .builders import NewEventBuilder, StoredEventBuilder

__all__ = ["NewEventBuilder", "StoredEventBuilder", "builders", "data"]
