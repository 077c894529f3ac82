"""Waiting for what a store does in other threads or processes, with a deadline, never a sleep."""

import threading
import time
from collections.abc import Callable

from logicblocks.event.store.subscription import Subscription
from logicblocks.event.types import StoredEvent

__all__ = ["take", "wait_until"]


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return condition()
        time.sleep(interval)  # waits-on-purpose: poll interval of a condition with a deadline


def take(subscription: Subscription, count: int, timeout: float = 30.0) -> list[StoredEvent]:
    """The next ``count`` events of a subscription; fewer if ``timeout`` passes first.

    A timer closes the subscription at the timeout, so a missing event fails the test's
    assertion instead of hanging it.
    """
    watchdog = threading.Timer(timeout, subscription.close)
    watchdog.start()
    try:
        taken: list[StoredEvent] = []
        for event in subscription:
            taken.append(event)
            if len(taken) == count:
                break
        return taken
    finally:
        watchdog.cancel()
