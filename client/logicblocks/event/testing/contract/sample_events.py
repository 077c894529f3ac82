"""Events and names the contract tests publish, and threads that publish them at once."""

import threading
import uuid
from collections.abc import Callable
from typing import Any

from logicblocks.event.testing import NewEventBuilder
from logicblocks.event.types import NewEvent


def new_events(count: int, **overrides: Any) -> list[NewEvent]:
    builder = NewEventBuilder()
    for key, value in overrides.items():
        builder = getattr(builder, f"with_{key}")(value)
    return [builder.build() for _ in range(count)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def deep(levels: int, innermost: object) -> object:
    """``innermost`` inside ``levels`` nested objects."""
    value = innermost
    for _ in range(levels):
        value = {"in": value}
    return value


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` in ``count`` threads released together; re-raise the first error."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a writer thread did not finish"
    if errors:
        raise errors[0]
