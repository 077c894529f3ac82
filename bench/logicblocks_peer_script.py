# mypy: ignore-errors
# (Checked against the release it runs with, not against our own logicblocks.event.)
"""Runs inside bench/.venv-peer (Python 3.13) with the released ``logicblocks.event.store``.

Not imported by the harness (which runs on our interpreter, with our own
``logicblocks.event`` package): ``bench.logicblocks_peer`` starts it as a subprocess.
It repeats one workload ``--repeats`` times in-process and prints one JSON line:
``{"version": ..., "samples": [events/s, ...], "cpu": [{"client": µs/op, "postgres": µs/op},
...], "events": n}``, the CPU measured by ``bench/cpu.py`` (loaded by path: it is standard
library only) with this process as the client and ``--postmaster``'s tree as PostgreSQL.
"""

import argparse
import asyncio
import dataclasses
import importlib.util
import json
import logging
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import structlog
from psycopg_pool import AsyncConnectionPool

from logicblocks.event.store import EventStore, PostgresEventStorageAdapter
from logicblocks.event.store.adapters.postgres import QuerySettings
from logicblocks.event.types import NewEvent

TABLE = "lb_events"
CATEGORY = "bench"
EVENT_NAME = "order-placed"

# The release logs every call through structlog; keep its output off stdout and quiet.
_LOGGER = structlog.wrap_logger(
    structlog.PrintLogger(file=sys.stderr),
    wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
)


def payload(index: int) -> dict[str, Any]:
    """The same payload as bench.events.payload."""
    return {
        "index": index,
        "order": f"order-{index:08d}",
        "amount": 1234.5,
        "currency": "GBP",
        "lines": [{"sku": "sku-1", "quantity": 2}, {"sku": "sku-2", "quantity": 1}],
    }


def _load_cpu() -> Any:
    path = Path(__file__).with_name("cpu.py")
    spec = importlib.util.spec_from_file_location("bench_cpu", path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: dataclasses look their module up by name.
    sys.modules["bench_cpu"] = module
    spec.loader.exec_module(module)
    return module


cpu = _load_cpu()


def events(count: int) -> list[NewEvent[str, Any]]:
    return [NewEvent(name=EVENT_NAME, payload=payload(i)) for i in range(count)]


async def w1(store: EventStore, arguments: argparse.Namespace, run: int, watch: Any) -> float:
    stream = store.stream(category=CATEGORY, stream=f"w1-{run}")
    batches = [events(arguments.batch) for _ in range(arguments.publishes)]
    watch.start()
    for batch in batches:
        await stream.publish(events=batch)
    watch.stop()
    return watch.rate(arguments.publishes * arguments.batch)


async def w2(store: EventStore, arguments: argparse.Namespace, run: int, watch: Any) -> float:
    one = events(arguments.publishes)

    async def client(index: int) -> None:
        stream = store.stream(category=CATEGORY, stream=f"w2-{run}-{index}")
        for event in one:
            await stream.publish(events=[event])

    watch.start()
    await asyncio.gather(*(client(i) for i in range(arguments.clients)))
    watch.stop()
    return watch.rate(arguments.clients * arguments.publishes)


async def w3(store: EventStore, arguments: argparse.Namespace, run: int, watch: Any) -> float:
    count = 0
    watch.start()
    async for event in store.log().iterate():
        if event.payload is None:
            raise AssertionError("an event without a payload")
        count += 1
    watch.stop()
    arguments.events = count
    return watch.rate(count)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--workload", choices=("w1", "w2", "w3"), required=True)
    parser.add_argument("--publishes", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postmaster", type=int, help="the PostgreSQL cluster's root process")
    arguments = parser.parse_args()
    meter = cpu.Meter(client=os.getpid(), postgres=arguments.postmaster)
    arguments.events = 0

    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        arguments.url, min_size=1, max_size=max(arguments.clients, 2), open=False
    )
    await pool.open()
    try:
        adapter = PostgresEventStorageAdapter(
            connection_source=pool,
            query_settings=QuerySettings(scan_query_page_size=1000),
            table_settings=_table_settings(),
        )
        store = EventStore(adapter, logger=_LOGGER)
        workload = {"w1": w1, "w2": w2, "w3": w3}[arguments.workload]
        samples: list[float] = []
        usages: list[dict[str, float | None]] = []
        for run in range(arguments.repeats):
            watch = cpu.Stopwatch(meter)
            samples.append(await workload(store, arguments, run, watch))
            usages.append(dataclasses.asdict(watch.usage))
    finally:
        await pool.close()
    print(
        json.dumps(
            {
                "version": metadata.version("logicblocks.event.store"),
                "samples": samples,
                "cpu": usages,
                "events": arguments.events,
            }
        )
    )


def _table_settings() -> Any:
    from logicblocks.event.persistence.postgres import TableSettings

    return TableSettings(table_name=TABLE)


if __name__ == "__main__":
    asyncio.run(main())
