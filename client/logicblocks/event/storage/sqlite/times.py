"""How the SQLite engine stores instants: integer microseconds since the Unix epoch."""

from datetime import UTC, datetime, timedelta

__all__ = ["from_microseconds", "to_microseconds"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_microseconds(value: datetime) -> int:
    """``value`` as stored: exact, sortable, and independent of time zones."""
    return (value - _EPOCH) // _MICROSECOND


def from_microseconds(value: int) -> datetime:
    """The UTC instant a stored integer holds."""
    return _EPOCH + timedelta(microseconds=value)
