"""The asyncio client against a real server process: publish, scan, subscribe, resume."""

import asyncio
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from logicblocks.event.store import (
    InvalidInputError,
    UnmetWriteConditionError,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.adapters import AsyncGrpcStorageAdapter
from logicblocks.event.transport.client_async import AsyncGrpcSubscription
from logicblocks.event.types import NewEvent, StoredEvent, identifier
from tests.support.server_process import COMMAND, ServerProcess

TIMEOUT = 60.0
ORDERS = identifier.Stream(category="orders", stream="o-1")


def events(count: int, name: str = "placed") -> list[NewEvent]:
    return [NewEvent(name=name, payload={"n": n, "big": 2**60 + n}) for n in range(count)]


def serve(database: Path, port: int = 0) -> list[str]:
    return [
        COMMAND,
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--storage",
        f"sqlite:///{database}",
    ]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(serve(tmp_path / "events.db")) as process:
        yield process


async def take(subscription: AsyncGrpcSubscription, count: int) -> list[StoredEvent]:
    """The next ``count`` events, failing after ``TIMEOUT`` seconds."""

    async def collect() -> list[StoredEvent]:
        return [await anext(subscription) for _ in range(count)]

    return await asyncio.wait_for(collect(), TIMEOUT)


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition`` holds, failing after ``TIMEOUT`` seconds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)  # waits-on-purpose: polls a condition, deadline above

    await asyncio.wait_for(poll(), TIMEOUT)


def test_publish_then_scan_the_log_a_category_and_a_stream(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with AsyncGrpcStorageAdapter(target=server.target) as client:
            first = await client.save(target=ORDERS, events=events(3))
            other = await client.save(
                target=identifier.Stream(category="users", stream="u-1"), events=events(2)
            )
            assert [e.position for e in first] == [0, 1, 2]
            assert [e.payload["big"] for e in first] == [2**60, 2**60 + 1, 2**60 + 2]
            assert [e async for e in client.scan()] == [*first, *other]
            assert [e async for e in client.scan(target=identifier.Category(category="users"))] == (
                list(other)
            )
            assert [e async for e in client.scan(target=ORDERS, after_sequence_number=0)] == (
                list(first[1:])
            )

    asyncio.run(scenario())


def test_an_unmet_condition_and_bad_input_raise_the_documented_errors(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with AsyncGrpcStorageAdapter(target=server.target) as client:
            await client.save(target=ORDERS, events=events(2))
            with pytest.raises(UnmetWriteConditionError) as unmet:
                await client.save(target=ORDERS, events=events(1), conditions={position_is(0)})
            assert unmet.value.last_position == 1
            with pytest.raises(UnmetWriteConditionError):
                await client.save(target=ORDERS, events=events(1), conditions={stream_is_empty()})
            with pytest.raises(InvalidInputError) as invalid:
                await client.save(
                    target=ORDERS, events=[NewEvent(name="bad", payload={"x": {1, 2}})]
                )
            assert "payload" in invalid.value.field
            with pytest.raises(InvalidInputError) as bad_scan:
                client.scan(after_sequence_number=-5)
            assert bad_scan.value.field == "after_sequence_number"
            assert len([e async for e in client.scan()]) == 2

    asyncio.run(scenario())


def test_a_subscription_delivers_history_then_live_events_and_closes(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with AsyncGrpcStorageAdapter(target=server.target) as client:
            history = await client.save(target=ORDERS, events=events(3))
            async with client.subscribe(heartbeat_interval=1.0) as subscription:
                assert await take(subscription, 3) == list(history)
                live = await client.save(target=ORDERS, events=events(2))
                assert await take(subscription, 2) == list(live)
                assert subscription.checkpoint == live[-1].sequence_number
                assert subscription.caught_up
            # Closed: the iteration ends rather than waiting.
            assert [e async for e in subscription] == []

            async with client.subscribe(from_end=True) as from_end:
                new = await client.save(target=ORDERS, events=events(1))
                assert await take(from_end, 1) == list(new)

            # close() from another task ends an iteration that is waiting.
            waiting = client.subscribe(target=identifier.Category(category="nothing"))

            async def drain() -> list[StoredEvent]:
                return [e async for e in waiting]

            drainer = asyncio.create_task(drain())
            await until(lambda: waiting.caught_up)
            await waiting.aclose()
            assert await asyncio.wait_for(drainer, TIMEOUT) == []

    asyncio.run(scenario())


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_subscription_resumes_after_a_server_restart_exactly_once(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    database = tmp_path / "events.db"

    async def scenario(first: ServerProcess) -> None:
        async with AsyncGrpcStorageAdapter(target=first.target) as client:
            before = list(await client.save(target=ORDERS, events=events(5)))
            subscription = client.subscribe(heartbeat_interval=1.0)
            assert await take(subscription, 5) == before

            first.signal(stop_signal)
            await asyncio.to_thread(first.wait, TIMEOUT)
            # The subscriber waits through the outage, reconnecting with backoff.
            pending = asyncio.create_task(take(subscription, 4))
            with ServerProcess(serve(database, first.port)):
                after = list(await client.save(target=ORDERS, events=events(4)))
                assert await pending == after
                assert subscription.reconnects >= 1
                more = list(await client.save(target=ORDERS, events=events(1)))
                assert await take(subscription, 1) == more
                assert [e async for e in client.scan()] == before + after + more
            await subscription.aclose()

    with ServerProcess(serve(database)) as first:
        asyncio.run(scenario(first))


def test_closing_the_adapter_ends_its_subscriptions_quietly(server: ServerProcess) -> None:
    async def scenario() -> list[StoredEvent]:
        client = AsyncGrpcStorageAdapter(target=server.target)
        await client.save(target=ORDERS, events=events(1))
        subscription = client.subscribe()
        first = await take(subscription, 1)

        async def drain() -> list[StoredEvent]:
            return [event async for event in subscription]

        draining = asyncio.create_task(drain())
        await client.close()
        rest = await asyncio.wait_for(draining, TIMEOUT)
        return first + rest

    assert [e.sequence_number for e in asyncio.run(scenario())] == [0]
