"""Clocks, so that tests can fix the time at which events are observed."""

from abc import ABC, abstractmethod
from datetime import datetime, tzinfo

__all__ = ["Clock", "StaticClock", "SystemClock"]


class Clock(ABC):
    """A source of the current time."""

    @abstractmethod
    def now(self, tz: tzinfo | None = None) -> datetime:
        """The current time in ``tz``."""


class SystemClock(Clock):
    """The machine's clock."""

    def now(self, tz: tzinfo | None = None) -> datetime:
        return datetime.now(tz)


class StaticClock(Clock):
    """A clock stopped at one instant; for tests."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self, tz: tzinfo | None = None) -> datetime:
        return self._now.astimezone(tz) if tz is not None else self._now
