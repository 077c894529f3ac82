"""What subscriptions and group consumers share: an endless iterator that is closed, and
its asyncio face that waits in a worker thread."""

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

__all__ = ["ClosingIterator", "ThreadedAsyncIterator"]

_T = TypeVar("_T")


class ClosingIterator(Iterator[_T], ABC):
    """An iterator that holds resources until ``close()``; a context manager closes it."""

    @abstractmethod
    def close(self) -> None:
        """Stop iterating and release what the iterator holds."""

    def __iter__(self) -> Self:
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class ThreadedAsyncIterator(AsyncIterator[_T], Generic[_T]):
    """A ``ClosingIterator`` for asyncio programs: each ``__anext__`` waits in a worker
    thread of the loop's default executor, never in the loop; cancelling it closes the
    iterator."""

    def __init__(self, iterator: ClosingIterator[_T]):
        self._iterator = iterator

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        try:
            return await asyncio.to_thread(self._next)
        except asyncio.CancelledError:
            self._iterator.close()
            raise

    def _next(self) -> _T:
        try:
            return next(self._iterator)
        except StopIteration:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop iterating."""
        self._iterator.close()
