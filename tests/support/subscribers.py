"""Subscribers for the subscription tests: a thread draining a subscription into a list.

``Collector(subscription)`` iterates the subscription in a thread of its own and records
every event it yields, so a test can publish from its own thread and then wait, with a
timeout, until the subscriber has seen everything up to a head.
"""

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

from logicblocks.event.store.subscription import Subscription
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import StoredEvent

__all__ = ["Collector"]


class Collector:
    """Drains ``subscription`` in a background thread into ``events``.

    ``on_event`` (optional) runs after each event is recorded, in the collector's thread:
    a slow consumer can block there. An exception from the iteration is kept in ``error``.
    """

    def __init__(
        self,
        subscription: Subscription,
        *,
        name: str = "subscriber",
        on_event: Callable[[StoredEvent], None] | None = None,
    ):
        self.subscription = subscription
        self.name = name
        self.events: list[StoredEvent] = []
        self.error: BaseException | None = None
        self._on_event = on_event
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for event in self.subscription:
                self.events.append(event)
                if self._on_event is not None:
                    self._on_event(event)
        except BaseException as error:  # reported by the test through ``error``
            self.error = error

    def has_seen_up_to(self, head: int, count: int = 0) -> bool:
        """Whether everything of the target up to ``head`` was delivered (and recorded).

        The checkpoint moves just before ``next()`` returns, so ``count`` (the number of
        events expected) tells that the last of them has also reached ``events``.
        """
        if self.error is not None:
            return True
        return self.subscription.checkpoint >= head and len(self.events) >= count

    def wait_for_head(self, head: int, timeout: float, count: int = 0) -> None:
        """Wait until everything of the target up to ``head`` was delivered; fail if not."""
        reached = wait_until(lambda: self.has_seen_up_to(head, count), timeout)
        assert self.error is None, f"{self.name} failed: {self.error!r}"
        assert reached, (
            f"{self.name}: checkpoint {self.subscription.checkpoint} did not reach {head} "
            f"within {timeout} s ({len(self.events)} events seen)"
        )

    def close(self, timeout: float = 30.0) -> None:
        """Close the subscription and wait for the thread to end."""
        self.subscription.close()
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive(), f"{self.name} did not stop after close()"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
