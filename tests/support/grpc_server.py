"""A real event store server on loopback, for tests that talk gRPC.

``running_server(adapter)`` runs the production server (``EventStoreServer``) in a
background thread with its own event loop on a free port, yields its target
(``"127.0.0.1:PORT"``) and stops it on exit. The adapter stays the caller's to close.
Keyword arguments (``limits``, ``tokens``, ``tls``, ``metrics_listen``) go to
``EventStoreServer``; ``running_event_store_server`` yields the server itself (its
``port``, ``metrics_port``).
"""

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.storage.engine import RecordStorageAdapter

__all__ = ["running_event_store_server", "running_server"]

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0


@contextmanager
def running_server(adapter: RecordStorageAdapter, **server_options: Any) -> Iterator[str]:
    """Serve ``adapter`` on a free loopback port; yield ``"127.0.0.1:PORT"``."""
    with running_event_store_server(adapter, **server_options) as server:
        yield f"127.0.0.1:{server.port}"


@contextmanager
def running_event_store_server(
    adapter: RecordStorageAdapter, **server_options: Any
) -> Iterator[EventStoreServer]:
    """Serve ``adapter`` on a free loopback port; yield the started server."""
    loop = asyncio.new_event_loop()
    server_ready: Future[EventStoreServer] = Future()

    async def start() -> None:
        server = EventStoreServer(adapter, listen="127.0.0.1:0", **server_options)
        await server.start()
        server_ready.set_result(server)

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as error:
            server_ready.set_exception(error)
            loop.close()
            return
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="event-store-test-server", daemon=True)
    thread.start()
    server = server_ready.result(timeout=_START_TIMEOUT)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(grace=1.0), loop).result(timeout=_STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_STOP_TIMEOUT)
