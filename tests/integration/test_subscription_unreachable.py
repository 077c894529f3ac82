"""A subscription whose server cannot be reached: it says so in the log, and gives up after
the bound its caller set (``max_reconnect_seconds``) rather than retrying silently for ever."""

import asyncio

import pytest

from logicblocks.event.store.adapters import AsyncGrpcStorageAdapter, GrpcStorageAdapter
from logicblocks.event.store.exceptions import StorageUnavailableError
from tests.support.postgres import free_port

# Well past the first five failed attempts (about a second of backoff), so the warning
# comes before the subscription gives up.
BOUND = 2.5
LOGGER = "logicblocks.event.transport.subscription"


def assert_logged_then_gave_up(
    caplog: pytest.LogCaptureFixture, raised: pytest.ExceptionInfo[StorageUnavailableError]
) -> None:
    assert f"(max_reconnect_seconds={BOUND:g}): the event store server is unavailable" in str(
        raised.value
    )
    assert "subscription gave up:" in str(raised.value)
    assert any(
        "event=subscription_reconnect_failing" in record.getMessage()
        and "failures=5" in record.getMessage()
        and record.levelname == "WARNING"
        for record in caplog.records
    )


def test_the_blocking_client_logs_then_raises_after_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING", logger=LOGGER)
    with GrpcStorageAdapter(target=f"127.0.0.1:{free_port()}") as adapter:
        subscription = adapter.subscribe(max_reconnect_seconds=BOUND)
        with pytest.raises(StorageUnavailableError) as raised:
            next(subscription)
    assert_logged_then_gave_up(caplog, raised)


def test_the_asyncio_client_logs_then_raises_after_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING", logger=LOGGER)

    async def scenario() -> None:
        async with AsyncGrpcStorageAdapter(target=f"127.0.0.1:{free_port()}") as adapter:
            subscription = adapter.subscribe(max_reconnect_seconds=BOUND)
            await anext(subscription)

    with pytest.raises(StorageUnavailableError) as raised:
        asyncio.run(scenario())
    assert_logged_then_gave_up(caplog, raised)
