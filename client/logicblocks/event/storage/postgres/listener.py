"""The ``LISTEN`` thread: commits anywhere wake the waiters of this process.

Each commit sends one ``NOTIFY`` with the new head. Each adapter holds one ``LISTEN``
connection (started on first use, in a background thread) that advances the head signal
the threads in ``wait_for_head_change`` wait on. Notifications are hints only: a timed-out
wait re-reads the head, so a missed notification delays a wake-up but loses nothing.
"""

import threading
from typing import Any

import psycopg
import psycopg_pool
from psycopg import sql

from ..engine import HeadSignal
from .connection import connect_arguments
from .queries import single_int

__all__ = ["HeadListener"]

_LISTEN_POLL_SECONDS = 0.5
_LISTEN_RETRY_SECONDS = 1.0


class HeadListener:
    """Feeds ``head_signal`` from the ``NOTIFY``s on ``channel``, once started, until closed.

    It connects as ``pool`` does, on a connection of its own (not one of the pool's: it is
    held for the adapter's life), and reads the head with ``head_query`` on each connect.
    """

    def __init__(
        self,
        *,
        pool: "psycopg_pool.ConnectionPool[Any]",
        channel: str,
        head_query: str,
        head_signal: HeadSignal,
    ) -> None:
        self._pool = pool
        self._channel = channel
        self._head_query = head_query
        self._head_signal = head_signal
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        """Start the thread unless it runs already or the listener is closed."""
        with self._lock:
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(
                    target=self._listen, name="event-store-postgres-listen", daemon=True
                )
                self._thread.start()

    def close(self) -> None:
        """Stop the thread (waiting a few seconds at most); it is not started again."""
        with self._lock:
            # Under the lock: ensure_started sets the thread before starting it.
            self._closed.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _listen(self) -> None:
        """Feed the head signal from ``NOTIFY``s; reconnect after failures until closed."""
        while not self._closed.is_set():
            try:
                conninfo, connection_kwargs = connect_arguments(self._pool)
                with psycopg.connect(conninfo, **connection_kwargs) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    # Anything committed while we were not listening is picked up here.
                    self._head_signal.advance(single_int(conn.execute(self._head_query).fetchone()))
                    while not self._closed.is_set():
                        for notify in conn.notifies(timeout=_LISTEN_POLL_SECONDS):
                            if notify.payload.isdigit():
                                self._head_signal.advance(int(notify.payload))
            except (psycopg.OperationalError, psycopg.InterfaceError):
                # Waiters fall back to re-reading the head on their timeouts meanwhile.
                self._closed.wait(_LISTEN_RETRY_SECONDS)
