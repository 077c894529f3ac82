"""The ``LISTEN`` task: commits anywhere wake the waiters of this process.

``listener_async.py`` is the source (``AsyncHeadListener``, a task of the server's event
loop); ``listener.py`` (``HeadListener``, a thread, for the in-process adapter) is
generated from it by ``scripts/async_to_sync.py``.

Each commit sends one ``NOTIFY`` with the new head. Each engine holds one ``LISTEN``
connection (started on first use) that advances the head signal the callers of
``wait_for_head_change`` wait on. Notifications are hints only: a timed-out wait re-reads
the head, so a missed notification delays a wake-up but loses nothing.
"""

from typing import Any

import psycopg
from psycopg import sql

from ..head_signal_async import AsyncHeadSignal
from ..primitives import AEvent, AWorker, ajoin, aspawn
from .queries import single_int

__all__ = ["AsyncHeadListener"]

_LISTEN_POLL_SECONDS = 0.5
_LISTEN_RETRY_SECONDS = 1.0
_CLOSE_SECONDS = 5.0


class AsyncHeadListener:
    """Feeds ``head_signal`` from the ``NOTIFY``s on ``channel``, once started, until closed.

    It connects with ``conninfo`` and ``connection_kwargs`` (as the engine's pool does), on
    a connection of its own (not one of the pool's: it is held for the engine's life), and
    reads the head with ``head_query`` on each connect.
    """

    def __init__(
        self,
        *,
        conninfo: str,
        connection_kwargs: dict[str, Any],
        channel: str,
        head_query: str,
        head_signal: AsyncHeadSignal,
    ) -> None:
        self._conninfo = conninfo
        self._connection_kwargs = connection_kwargs
        self._channel = channel
        self._head_query = head_query
        self._head_signal = head_signal
        self._closed = AEvent()
        self._worker: AWorker | None = None

    def ensure_started(self) -> None:
        """Start listening unless it runs already or the listener is closed."""
        # Only the engine's own callers start it, and a start is one assignment with no
        # wait in between: two callers cannot both find it unstarted and start it twice
        # within one event loop; for threads the GIL makes the check-and-set a race that
        # at worst starts a second listener, which only doubles the wake-ups.
        if self._worker is None and not self._closed.is_set():
            self._worker = aspawn(self._listen, name="event-store-postgres-listen")

    async def close(self) -> None:
        """Stop listening (waiting a few seconds at most); it is not started again."""
        self._closed.set()
        worker, self._worker = self._worker, None
        if worker is not None:
            await ajoin(worker, _CLOSE_SECONDS)

    async def _listen(self) -> None:
        """Feed the head signal from ``NOTIFY``s; reconnect after failures until closed."""
        while not self._closed.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, **self._connection_kwargs
                ) as connection:
                    await connection.execute(
                        sql.SQL("LISTEN {}").format(sql.Identifier(self._channel))
                    )
                    # Anything committed while we were not listening is picked up here.
                    cursor = await connection.execute(self._head_query)
                    await self._head_signal.advance(single_int(await cursor.fetchone()))
                    while not self._closed.is_set():
                        async for notify in connection.notifies(timeout=_LISTEN_POLL_SECONDS):
                            if notify.payload.isdigit():
                                await self._head_signal.advance(int(notify.payload))
            except (psycopg.OperationalError, psycopg.InterfaceError):
                # Waiters fall back to re-reading the head on their timeouts meanwhile.
                await self._closed.wait_timeout(_LISTEN_RETRY_SECONDS)
