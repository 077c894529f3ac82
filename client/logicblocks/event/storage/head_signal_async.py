"""``AsyncHeadSignal``: wakes the waiters of one process when the head moves.

``head_signal_async.py`` is the source, for the server's event loop; ``head_signal.py``
(``HeadSignal``, for threads: the in-memory and SQLite engines and the in-process
PostgreSQL adapter) is generated from it by ``scripts/async_to_sync.py``.
"""

from logicblocks.event.store.start import NO_EVENTS

from .primitives import ACondition, AIntSource

__all__ = ["AsyncHeadSignal"]


class AsyncHeadSignal:
    """Wakes waiters when the head moves, for backends written to in this process.

    A backend calls ``advance(head)`` after each commit and implements
    ``wait_for_head_change`` with ``wait``; a timeout makes the caller re-read the head
    itself, which covers writers in other processes (for example a second process on the
    same SQLite file).
    """

    def __init__(self) -> None:
        self._condition = ACondition()
        self._head = NO_EVENTS
        self._known = False

    async def advance(self, head: int) -> None:
        """Record the head after a commit and wake every waiter.

        Heads only grow, so a late call with an older head (from a writer that was
        overtaken between its commit and this call) changes nothing.
        """
        async with self._condition:
            self._head = max(self._head, head)
            self._known = True
            self._condition.notify_all()

    async def wait(self, known_head: int, timeout: float, read_head: AIntSource) -> int:
        """Wait until the head is past ``known_head``; on timeout re-read it with ``read_head``.

        Waits by order, not by difference: a caller that knows a newer head than this
        signal (written by another process) waits for the timeout instead of returning at
        once, again and again.
        """
        if not self._known:
            # Outside the condition: storage is never read while waiters are blocked on it.
            await self.advance(await read_head())
        async with self._condition:
            if await self._condition.wait_for_timeout(lambda: self._head > known_head, timeout):
                return self._head
        current = await read_head()
        await self.advance(current)
        return current
