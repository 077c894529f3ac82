"""``AsyncRecordStorage``: an engine as the server's event loop calls it.

The server awaits its storage instead of handing each call to a thread: the PostgreSQL
engine answers natively in the loop (``postgres.async_storage``), and engines that only
have a blocking face (in-memory, SQLite) run each call on an executor thread
(``ThreadedRecordStorage``). The methods mean what ``RecordStorageAdapter``'s mean; reads
come a bounded page at a time (``read_page``), which is how the server reads.
"""

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence, Set
from concurrent.futures import Executor
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.conditions import WriteCondition
from logicblocks.event.store.listing import CategorySummary, StoreSummary, StreamSummary
from logicblocks.event.store.publishing import PendingWrite
from logicblocks.event.store.records import EventRecord, PendingEvent
from logicblocks.event.types import identifier

if TYPE_CHECKING:
    from .engine import RecordStorageAdapter

__all__ = [
    "AsyncRecordStorage",
    "CommitObserver",
    "RecordsObserver",
    "ThreadedRecordStorage",
    "tell_commit",
    "tell_records",
]

_T = TypeVar("_T")

_log = logging.getLogger(__name__)

CommitObserver = Callable[[int], None]
"""Told the number of events each storage commit wrote (see ``commit_observer``)."""


RecordsObserver = Callable[[Sequence[EventRecord]], None]
"""Given the records of each write this process committed (see ``records_observer``)."""


def tell_records(observer: RecordsObserver | None, records: Sequence[EventRecord]) -> None:
    """Give ``observer``, if any, the records a write committed (never none)."""
    if observer is None or not records:
        return
    try:
        observer(records)
    except Exception:
        # As for tell_commit: the write succeeded whatever its observer makes of it.
        _log.exception("event=records_observer_failed")


def tell_commit(observer: CommitObserver | None, events: int) -> None:
    """Tell ``observer``, if any, that a commit wrote ``events`` events (never 0)."""
    if observer is None or events <= 0:
        return
    try:
        observer(events)
    except Exception:
        # The events are stored: a failing observer must not turn a write that succeeded
        # into an error the caller would retry.
        _log.exception("event=commit_observer_failed")


class AsyncRecordStorage(ABC):
    """An engine's records, awaited from one event loop (the server's).

    ``open()`` is awaited once in that loop before any other call, ``close()`` once at the
    end. ``commit_observer`` is as ``RecordStorageAdapter.commit_observer``.
    """

    records_observer: RecordsObserver | None = None
    """Given, in the event loop, the records of each write made through this storage,
    in commit order where the engine can tell it (the server's log tail takes its own
    commits from here instead of reading them back). PostgreSQL calls it before the head
    signal moves, so the tail has them before it wakes; a write that returns records
    already stored (a retried publish) may give them again.
    """

    @property
    @abstractmethod
    def commit_observer(self) -> CommitObserver | None:
        """Called after each storage commit with the number of events it wrote."""

    @commit_observer.setter
    @abstractmethod
    def commit_observer(self, observer: CommitObserver | None) -> None: ...

    @abstractmethod
    async def open(self) -> None:
        """Make the storage ready, in the loop that will call it."""

    @abstractmethod
    async def close(self) -> None:
        """Let go of what ``open`` took (a caller's engine stays open)."""

    async def write_records(
        self,
        *,
        target: identifier.Stream,
        events: Sequence[PendingEvent],
        conditions: Set[WriteCondition],
    ) -> Sequence[EventRecord]:
        """See ``RecordStorageAdapter.write_records``."""
        return await self.write_streams(
            writes=[PendingWrite(target=target, events=events, conditions=conditions)],
            conditions=frozenset(),
        )

    @abstractmethod
    async def write_streams(
        self, *, writes: Sequence[PendingWrite], conditions: Set[WriteCondition]
    ) -> Sequence[EventRecord]:
        """See ``RecordStorageAdapter.write_streams``."""

    @abstractmethod
    async def after_sequence_number_since(self, since: datetime) -> int:
        """See ``RecordStorageAdapter.after_sequence_number_since``."""

    @abstractmethod
    async def read_page(
        self, *, target: Scannable, after_sequence_number: int, limit: int, max_bytes: int | None
    ) -> list[EventRecord]:
        """``RecordStorageAdapter.read_records`` with a ``limit``, as a list."""

    @abstractmethod
    async def head(self) -> int:
        """See ``RecordStorageAdapter.head``."""

    @abstractmethod
    async def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        """See ``RecordStorageAdapter.wait_for_head_change``."""

    @abstractmethod
    async def list_categories(self, *, after: str | None, limit: int) -> Sequence[CategorySummary]:
        """See ``RecordStorageAdapter.list_categories``."""

    @abstractmethod
    async def list_streams(
        self, *, category: str, prefix: str, after: str | None, limit: int
    ) -> Sequence[StreamSummary]:
        """See ``RecordStorageAdapter.list_streams``."""

    @abstractmethod
    async def summary(self) -> StoreSummary:
        """See ``RecordStorageAdapter.summary``."""

    async def read_record_by_id(self, id: str) -> EventRecord | None:
        """See ``RecordStorageAdapter.read_record_by_id``. Not abstract, so that faces
        written before it still load; this default says it is not served."""
        raise NotImplementedError("this storage cannot look an event up by its id")


class ThreadedRecordStorage(AsyncRecordStorage):
    """A blocking engine awaited from the loop: each call runs on ``executor``.

    Waiting for the head runs on the loop's default executor instead, so a subscriber's
    long wait never takes a storage thread from publishes and reads. The engine stays the
    caller's: ``close`` leaves it open.
    """

    def __init__(self, adapter: "RecordStorageAdapter", executor: Executor) -> None:
        self._adapter = adapter
        self._executor = executor

    @property
    def commit_observer(self) -> CommitObserver | None:
        return self._adapter.commit_observer

    @commit_observer.setter
    def commit_observer(self, observer: CommitObserver | None) -> None:
        self._adapter.commit_observer = observer

    def _run(self, work: Callable[[], _T]) -> "asyncio.Future[_T]":
        return asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def write_streams(
        self, *, writes: Sequence[PendingWrite], conditions: Set[WriteCondition]
    ) -> Sequence[EventRecord]:
        records = await self._run(
            lambda: self._adapter.write_streams(writes=writes, conditions=conditions)
        )
        # In the loop, after the thread's commit: several threads may finish out of order.
        tell_records(self.records_observer, records)
        return records

    async def read_page(
        self, *, target: Scannable, after_sequence_number: int, limit: int, max_bytes: int | None
    ) -> list[EventRecord]:
        return await self._run(
            lambda: list(
                self._adapter.read_records(
                    target=target,
                    after_sequence_number=after_sequence_number,
                    limit=limit,
                    max_bytes=max_bytes,
                )
            )
        )

    async def head(self) -> int:
        return await self._run(self._adapter.head)

    async def after_sequence_number_since(self, since: datetime) -> int:
        return await self._run(lambda: self._adapter.after_sequence_number_since(since))

    async def wait_for_head_change(self, known_head: int, timeout: float) -> int:
        return await asyncio.to_thread(self._adapter.wait_for_head_change, known_head, timeout)

    async def list_categories(self, *, after: str | None, limit: int) -> Sequence[CategorySummary]:
        return await self._run(lambda: self._adapter.list_categories(after=after, limit=limit))

    async def list_streams(
        self, *, category: str, prefix: str, after: str | None, limit: int
    ) -> Sequence[StreamSummary]:
        return await self._run(
            lambda: self._adapter.list_streams(
                category=category, prefix=prefix, after=after, limit=limit
            )
        )

    async def summary(self) -> StoreSummary:
        return await self._run(self._adapter.summary)

    async def read_record_by_id(self, id: str) -> EventRecord | None:
        return await self._run(lambda: self._adapter.read_record_by_id(id))
