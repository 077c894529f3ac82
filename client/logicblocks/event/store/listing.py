"""What the store holds, at a glance: categories, streams and the summary, as plain values.

Engines answer these from an index they keep in each publish's transaction (a table of
streams, or dicts in memory), never by reading the log. Names are ordered by Unicode code
point, which is also the byte order of their UTF-8 text, so every engine pages alike.
"""

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "CategorySummary",
    "StoreSummary",
    "StreamSummary",
    "prefix_upper_bound",
]

# The greatest code point, and the surrogates, which no stored name may hold.
_MAX_CHARACTER = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


@dataclass(frozen=True)
class CategorySummary:
    """A category: how many streams and events it holds, and its last sequence number."""

    category: str
    streams: int
    events: int
    last_sequence_number: int


@dataclass(frozen=True)
class StreamSummary:
    """A stream: its last event's position, sequence number and observed_at.

    Positions run from 0 without gaps, so the stream holds ``last_position + 1`` events.
    """

    category: str
    stream: str
    last_position: int
    last_sequence_number: int
    last_observed_at: datetime

    @property
    def events(self) -> int:
        """How many events the stream holds."""
        return self.last_position + 1


@dataclass(frozen=True)
class StoreSummary:
    """The whole store at one moment.

    ``storage`` names the engine ("memory", "sqlite", "postgresql"); ``head`` is the
    greatest sequence number, -1 when the store is empty. Sequence numbers run from 0
    without gaps, so the store holds ``head + 1`` events.
    """

    storage: str
    head: int
    categories: int
    streams: int

    @property
    def events(self) -> int:
        """How many events the store holds."""
        return self.head + 1


def prefix_upper_bound(prefix: str) -> str | None:
    """The least name greater than every name starting with ``prefix``, or ``None`` if none.

    Names starting with ``prefix`` are exactly those in ``[prefix, bound)`` in code point
    order, which an index answers as a range instead of testing every name. The bound
    skips the surrogates, which cannot be stored.
    """
    trimmed = prefix.rstrip(chr(_MAX_CHARACTER))
    if not trimmed:
        return None
    following = ord(trimmed[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    return trimmed[:-1] + chr(following)
