"""The PostgreSQL group records' asynchronous face, awaited in an event loop as the server
would, sees and contends with what the blocking face writes to the same tables."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from logicblocks.event.storage.groups.records import GroupDefinition, PartitionProgress
from logicblocks.event.storage.postgres.async_storage import AsyncPostgresStorage
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    TableParameters,
)
from logicblocks.event.store.groups import FROM_BEGINNING, GroupSettings
from logicblocks.event.types import identifier

_PARTITIONS = 16


def test_the_asynchronous_face_shares_groups_and_leases_with_the_blocking_one(
    postgres_url: str,
) -> None:
    table = TableParameters(events_table_name=f"e_{uuid.uuid4().hex}")
    with (
        PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(postgres_url), table_parameters=table
        ) as adapter,
        ThreadPoolExecutor(1) as executor,
    ):
        blocking = adapter.group_records()
        created = blocking.create(
            GroupDefinition(
                name="billing",
                target=identifier.Category(category="orders"),
                start=FROM_BEGINNING,
                start_after=-1,
                settings=GroupSettings(partitions=_PARTITIONS),
            )
        )
        storage = adapter.asynchronous(executor)
        assert isinstance(storage, AsyncPostgresStorage)

        async def scenario() -> tuple[list[int], list[int]]:
            await storage.open()
            try:
                records = storage.group_records()
                assert await records.get("billing") == created
                # The two faces race for every partition: exactly one wins each.
                won_here: list[int] = []
                won_there: list[int] = []
                for partition in range(_PARTITIONS):
                    here, there = await asyncio.gather(
                        records.claim(
                            "billing",
                            generation=0,
                            partition=partition,
                            member="async",
                            now=0.0,
                            lease_until=60.0,
                        ),
                        asyncio.to_thread(
                            blocking.claim,
                            "billing",
                            generation=0,
                            partition=partition,
                            member="blocking",
                            now=0.0,
                            lease_until=60.0,
                        ),
                    )
                    assert (here is None) != (there is None)
                    (won_here if here is not None else won_there).append(partition)
                saved = await records.save(
                    "billing",
                    generation=0,
                    member="async",
                    progress=[PartitionProgress(p, 3) for p in range(_PARTITIONS)],
                )
                assert saved == set(won_here)
                return won_here, won_there
            finally:
                await storage.close()

        won_here, won_there = asyncio.run(scenario())
        assert sorted(won_here + won_there) == list(range(_PARTITIONS))
        assert blocking.progress("billing") == [PartitionProgress(p, 3) for p in won_here]
