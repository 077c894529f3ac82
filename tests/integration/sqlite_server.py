"""An event store server on SQLite in its own process, for tests that kill it with SIGKILL.

Run as ``python sqlite_server.py PATH``; prints ``listening 127.0.0.1:PORT`` once serving,
then serves until killed.
"""

import asyncio
import sys

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.store.adapters import SqliteStorageAdapter


async def serve(path: str) -> None:
    with SqliteStorageAdapter(path=path) as adapter:
        server = EventStoreServer(adapter, listen="127.0.0.1:0")
        await server.start()
        print(f"listening 127.0.0.1:{server.port}", flush=True)
        await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
