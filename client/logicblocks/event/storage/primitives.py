"""The places where an engine's asynchronous and blocking faces differ, in pairs.

The PostgreSQL engine is written once, asynchronously, and its blocking modules are
generated from it (``scripts/async_to_sync.py``), which renames each ``a``-prefixed name
here to its blocking twin: ``ACondition`` to ``Condition``, ``aspawn`` to ``spawn``, and so
on. Each pair has the same methods; the asynchronous member is awaited.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = [
    "ACancelled",
    "ACondition",
    "AEvent",
    "AIntSource",
    "AWorker",
    "Cancelled",
    "Condition",
    "Event",
    "IntSource",
    "Worker",
    "ajoin",
    "ashield",
    "aspawn",
    "join",
    "shield",
    "spawn",
]

_T = TypeVar("_T")

IntSource = Callable[[], int]
"""A blocking function answering a number (the head, say)."""
AIntSource = Callable[[], Awaitable[int]]
"""An asynchronous function answering a number."""

AWorker = asyncio.Task[None]
"""Work running beside its starter (``aspawn``): a task."""
Worker = threading.Thread
"""Work running beside its starter (``spawn``): a thread."""

ACancelled = asyncio.CancelledError
"""What a cancelled coroutine raises where it waits."""


class Cancelled(BaseException):
    """The blocking face's twin of ``asyncio.CancelledError``: threads are never cancelled,
    so nothing raises it; an ``except Cancelled`` in generated code never runs."""


class ACondition(asyncio.Condition):
    """``asyncio.Condition`` with a bounded ``wait_for``."""

    async def wait_for_timeout(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (holding the condition) until ``predicate()`` or ``timeout`` seconds pass;
        return the predicate's last value."""
        try:
            async with asyncio.timeout(timeout):
                return await self.wait_for(predicate)
        except TimeoutError:
            return predicate()


class Condition(threading.Condition):
    """``threading.Condition`` with ``ACondition``'s ``wait_for_timeout``."""

    def wait_for_timeout(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (holding the condition) until ``predicate()`` or ``timeout`` seconds pass;
        return the predicate's last value."""
        return self.wait_for(predicate, timeout)


class AEvent(asyncio.Event):
    """``asyncio.Event`` with a bounded wait."""

    async def wait_timeout(self, timeout: float) -> bool:
        """Wait until the event is set or ``timeout`` seconds pass; return whether it is set."""
        try:
            async with asyncio.timeout(timeout):
                return await self.wait()
        except TimeoutError:
            return self.is_set()


class Event(threading.Event):
    """``threading.Event`` with ``AEvent``'s ``wait_timeout``."""

    def wait_timeout(self, timeout: float) -> bool:
        """Wait until the event is set or ``timeout`` seconds pass; return whether it is set."""
        return self.wait(timeout)


def aspawn(work: Callable[[], Coroutine[Any, Any, None]], *, name: str) -> AWorker:
    """Run ``work`` beside the caller: a task of the running event loop."""
    return asyncio.get_running_loop().create_task(work(), name=name)


def spawn(work: Callable[[], None], *, name: str) -> threading.Thread:
    """Run ``work`` beside the caller: a daemon thread."""
    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


async def ajoin(task: AWorker, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``task`` to end, then cancel it."""
    await asyncio.wait({task}, timeout=timeout)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})


def join(thread: threading.Thread, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``thread`` to end (a daemon thread is left)."""
    thread.join(timeout)


async def ashield(work: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run ``work()`` to its end even if the caller is cancelled meanwhile.

    The caller still sees its cancellation at once; the work goes on as a task. Used where
    stopping half-way would strand others (a group commit's leader).
    """
    return await asyncio.shield(work())


def shield(work: Callable[[], _T]) -> _T:
    """The blocking twin of ``ashield``: threads are never cancelled; run ``work()``."""
    return work()
