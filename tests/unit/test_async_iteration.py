"""In-process subscriptions and group consumers under ``async for``: they yield what the
blocking faces yield, and a cancelled wait closes the iterator behind it."""

import asyncio

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.types import NewEvent


def store_of_two() -> EventStore:
    store = EventStore(InMemoryStorageAdapter())
    store.stream(category="c", stream="s").publish(
        events=[NewEvent(name="n", payload={"i": i}) for i in range(2)]
    )
    return store


def test_async_for_yields_the_events_and_the_deliveries_in_order() -> None:
    store = store_of_two()
    store.log().consumer_group("g").create()

    async def read() -> tuple[list[int], list[int]]:
        events, delivered = [], []
        with store.log().subscribe() as subscription:
            async for event in subscription:
                events.append(event.sequence_number)
                if len(events) == 2:
                    break
        with store.consumer_group("g").consume() as consumer:
            async for delivery in consumer:
                delivered.append(delivery.event.sequence_number)
                delivery.ack()
                if len(delivered) == 2:
                    break
        return events, delivered

    assert asyncio.run(read()) == ([0, 1], [0, 1])


def test_a_cancelled_wait_closes_the_subscription() -> None:
    store = store_of_two()
    subscription = store.log().subscribe(from_end=True)

    async def wait_then_cancel() -> None:
        waiting = asyncio.ensure_future(anext(aiter(subscription)))
        await asyncio.sleep(0)  # waits-on-purpose: one turn of the loop, no time: the wait starts
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)

    asyncio.run(wait_then_cancel())
    # Closed: iteration ends rather than blocking for the next event.
    assert list(subscription) == []
