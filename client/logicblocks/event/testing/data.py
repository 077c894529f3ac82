"""Random test data: names, payloads and timestamps."""

import random
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "random_category_name",
    "random_event_id",
    "random_event_name",
    "random_event_payload",
    "random_int",
    "random_stream_name",
    "random_timestamp",
]


def _random_word(length: int = 10) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=length))


def random_int(minimum: int = 0, maximum: int = 1_000_000) -> int:
    """A random integer in ``[minimum, maximum]``."""
    return random.randint(minimum, maximum)


def random_category_name() -> str:
    """A random category name."""
    return f"category-{_random_word()}"


def random_stream_name() -> str:
    """A random stream name."""
    return f"stream-{_random_word()}"


def random_event_name() -> str:
    """A random event name."""
    return f"event-{_random_word()}"


def random_event_id() -> str:
    """A random event id."""
    return str(uuid.uuid4())


def random_event_payload() -> dict[str, Any]:
    """A small random JSON payload."""
    return {_random_word(6): _random_word(12) for _ in range(random.randint(1, 4))}


def random_timestamp() -> datetime:
    """A random timezone-aware UTC timestamp within the last year, to the microsecond."""
    return datetime.now(UTC) - timedelta(microseconds=random.randint(0, 365 * 24 * 3600 * 10**6))
