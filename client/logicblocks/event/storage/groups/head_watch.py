"""The store's head as one group consumer knows it, kept current by a thread of its own.

The member loop reads its target only up to a head it knows (``MemberLoop._needs_read``);
this thread waits for the head to move (``wait_for_head_change``: at once on engines that
hear of commits, by polling on the others) and wakes the loop when it does.
"""

import threading
from typing import TYPE_CHECKING

from logicblocks.event.store.exceptions import StorageUnavailableError

from .consumer import LocalGroupConsumer

if TYPE_CHECKING:
    from logicblocks.event.storage.engine import RecordStorageAdapter

__all__ = ["HeadWatch"]

# How long one wait for the head lasts: bounds how late the watcher notices the end.
_WATCH_SLICE = 0.25


class HeadWatch:
    """The head ``consumer`` knows (``known``, read and raised under its lock)."""

    def __init__(self, *, adapter: "RecordStorageAdapter", consumer: LocalGroupConsumer, name: str):
        self._adapter = adapter
        self._consumer = consumer
        self.known = adapter.head()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{name} head", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (within ``_WATCH_SLICE``); does not wait."""
        self._stopped.set()

    def saw(self, head: int) -> None:
        """A read learnt of ``head`` (under the consumer's lock)."""
        self.known = max(self.known, head)

    def _run(self) -> None:
        consumer = self._consumer
        with consumer.lock:
            known = self.known
        while not self._stopped.is_set():
            try:
                head = self._adapter.wait_for_head_change(known, _WATCH_SLICE)
            except StorageUnavailableError:
                # The loop finds out for itself, and gives up when it must.
                self._stopped.wait(_WATCH_SLICE)
                continue
            except Exception as error:
                with consumer.lock:
                    if consumer.error is None:
                        consumer.error = error
                    consumer.wake.notify()
                return
            if head > known:
                known = head
                with consumer.lock:
                    if head > self.known:
                        self.known = head
                        consumer.wake.notify()
