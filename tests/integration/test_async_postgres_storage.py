"""The PostgreSQL engine's asynchronous face, as the server runs it in its event loop."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from logicblocks.event.storage.postgres.async_storage import AsyncPostgresStorage
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.records import prepare_events
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent, identifier
from tests.support.postgres import PostgresCluster, hold_write_lock, lock_waiters


async def publish(storage: AsyncPostgresStorage, stream: str) -> None:
    await storage.write_records(
        target=identifier.Stream(category="c", stream=stream),
        events=prepare_events([NewEvent(name="n", payload={})]),
        conditions=frozenset(),
    )


def test_a_publish_cancelled_in_the_queue_is_withdrawn_not_written_later(
    postgres_url: str, postgres_cluster: PostgresCluster
) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    with (
        PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(postgres_url), table_parameters=table
        ) as adapter,
        ThreadPoolExecutor(1) as executor,
    ):
        storage = adapter.asynchronous(executor)
        assert isinstance(storage, AsyncPostgresStorage)

        async def scenario() -> None:
            await storage.open()
            try:
                holder = hold_write_lock(postgres_url, table)
                try:
                    # "a" leads a transaction that waits for the lock; "b" queues behind it
                    # and its caller gives up (a cancelled call).
                    leader = asyncio.create_task(publish(storage, "a"))
                    assert await asyncio.to_thread(
                        wait_until, lambda: lock_waiters(postgres_cluster, table) == 1, 30
                    )
                    queued = asyncio.create_task(publish(storage, "b"))
                    assert await asyncio.to_thread(
                        wait_until, lambda: storage.waiting_publishes == 1, 30
                    )
                    queued.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await queued
                    assert storage.waiting_publishes == 0
                finally:
                    holder.close()
                await leader
                # The next publish leads a group of its own, without the withdrawn one.
                await publish(storage, "c")
            finally:
                await storage.close()

        asyncio.run(scenario())
        assert [record.stream for record in adapter.read_records()] == ["a", "c"]
