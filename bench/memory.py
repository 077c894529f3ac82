"""W5 and W6: the server's peak memory growth under a slow scan and many idle subscriptions
(W5), and under one scan, stalled scans and stalled subscriptions of 1000 KiB events (W6).

Each case gets a fresh server process (so its peak, ``VmHWM``, starts clean), warmed up by
one publish and a short scan; the growth is the peak during the case minus ``VmRSS`` after
the warm-up. A sampler also reads ``VmRSS`` every 50 ms, in case the kernel's peak is not
available.
"""

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, targets_pb2

from .environment import memory_kib
from .events import CATEGORY, EVENT_NAME, new_events

__all__ = [
    "LARGE_EVENT_BYTES",
    "MemoryResult",
    "fill_large",
    "fill_log",
    "idle_subscriptions",
    "one_scan",
    "slow_scan",
    "stalled_readers",
]

_SAMPLE_SECONDS = 0.05
# Under the server's per-connection cap on subscriptions (100 by default).
_SUBSCRIPTIONS_PER_CONNECTION = 50
_FILL_PAYLOAD = (
    '{"index":%s,"order":"order-%s","amount":1234.5,"currency":"GBP",'
    '"lines":[{"sku":"sku-1","quantity":2},{"sku":"sku-2","quantity":1}]}'
)


@dataclass
class MemoryResult:
    """Growth of the server's resident memory over its post-warm-up baseline, in MB."""

    growth_mb: float = 0.0
    baseline_mb: float = 0.0
    peak_mb: float = 0.0
    detail: str = ""
    unavailable: str | None = None


def fill_log(url: str, total: int) -> int:
    """Append rows straight into ``events`` until the log holds ``total`` events.

    Bulk SQL, not publishes: W3 and W5 measure reading, and loading a million events
    through any client would dominate the run. The rows keep every invariant (contiguous
    sequence numbers, streams of 100 from position 0, unique ids, the same payload shape).
    """
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SELECT coalesce(max(sequence_number), -1) FROM events").fetchone()
        head = int(row[0]) if row else -1
        missing = total - (head + 1)
        if missing > 0:
            connection.execute(
                "INSERT INTO events (sequence_number, id, name, category, stream, position,"
                " payload, observed_at, occurred_at)"
                " SELECT %s + g, gen_random_uuid()::text, %s, %s,"
                " 'fill-' || %s || '-' || (g / 100), g %% 100,"
                " format(%s, g, lpad(g::text, 8, '0'))::json, now(), now()"
                " FROM generate_series(0, %s - 1) AS g",
                (head + 1, EVENT_NAME, CATEGORY, head + 1, _FILL_PAYLOAD, missing),
            )
            connection.execute("ANALYZE events")
        return max(total, head + 1)


class _Sampler:
    """Reads the server's ``VmRSS`` in a thread until stopped; keeps the maximum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid)["VmRSS"])
            self._stop.wait(_SAMPLE_SECONDS)

    def __enter__(self) -> "_Sampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _warm_up(target: str) -> None:
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        store.stream(category=CATEGORY, stream="w5-warmup").publish(events=new_events(1))
        for count, _ in enumerate(store.log()):
            if count >= 2000:
                break


def _measure(pid: int, target: str, case: Callable[[], str]) -> MemoryResult:
    _warm_up(target)
    baseline = memory_kib(pid)["VmRSS"]
    with _Sampler(pid) as sampler:
        detail = case()
    peak = max(sampler.peak_kib, memory_kib(pid)["VmHWM"])
    return MemoryResult(
        growth_mb=(peak - baseline) / 1024,
        baseline_mb=baseline / 1024,
        peak_mb=peak / 1024,
        detail=detail,
    )


def slow_scan(pid: int, target: str, pause_every: int, pause_seconds: float) -> MemoryResult:
    """A client that scans the whole log, pausing ``pause_seconds`` every ``pause_every``
    events, so the server must hold back (flow control) rather than run ahead."""

    def case() -> str:
        started = time.perf_counter()
        count = 0
        with GrpcStorageAdapter(target=target) as adapter:
            for _ in EventStore(adapter).log():
                count += 1
                if count % pause_every == 0:
                    time.sleep(pause_seconds)
        return f"{count:,} events in {time.perf_counter() - started:.0f} s"

    return _measure(pid, target, case)


def idle_subscriptions(pid: int, target: str, count: int, hold_seconds: float) -> MemoryResult:
    """``count`` subscriptions from the end of the log on one channel, idle for
    ``hold_seconds``; reports ``unavailable`` when the server does not serve Subscribe."""
    outcome: dict[str, str] = {}

    async def subscribe_all() -> str:
        # The server caps subscriptions per connection, so spread them over several
        # connections (a local subchannel pool gives each channel its own).
        channels = [
            grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(-(-count // _SUBSCRIPTIONS_PER_CONNECTION))
        ]
        request = event_store_pb2.SubscribeRequest(
            target=targets_pb2.Target(log=targets_pb2.Log()),
            end=event_store_pb2.SubscribeRequest.End(),
        )
        stubs = [event_store_pb2_grpc.EventStoreStub(channel) for channel in channels]
        calls = [stubs[i % len(stubs)].Subscribe(request) for i in range(count)]
        try:
            # Every call is open once the server answered it (caught-up or a heartbeat).
            firsts = [asyncio.ensure_future(call.read()) for call in calls]
            done, _ = await asyncio.wait(firsts, timeout=30)
            errors = [f.exception() for f in done if f.exception() is not None]
            if errors:
                raise errors[0]  # type: ignore[misc]
            await asyncio.sleep(hold_seconds)
            return (
                f"{len(done):,} of {count:,} answered on {len(channels)} connections, "
                f"held {hold_seconds:.0f} s"
            )
        finally:
            for call in calls:
                call.cancel()
            for channel in channels:
                await channel.close(None)

    def case() -> str:
        try:
            return asyncio.run(subscribe_all())
        except grpc.aio.AioRpcError as error:
            outcome["unavailable"] = f"{error.code().name}: {error.details()}"
            return ""

    result = _measure(pid, target, case)
    if "unavailable" in outcome:
        result.unavailable = outcome["unavailable"]
    return result


# W6: events of 1000 KiB, the default payload limit's size, where a page bounded by count
# alone would hold hundreds of MiB.
LARGE_EVENT_BYTES = 1000 * 1024
_LOG = targets_pb2.Target(log=targets_pb2.Log())


def fill_large(url: str, total: int) -> int:
    """Append ``total`` events of about ``LARGE_EVENT_BYTES`` each to an empty ``events``
    table (made by the server), in bulk SQL; returns the payload bytes of one event."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO events (sequence_number, id, name, category, stream, position,"
            " payload, observed_at, occurred_at)"
            " SELECT g, gen_random_uuid()::text, %s, %s, 'large', g,"
            " json_build_object('index', g, 'blob', repeat(md5(g::text), %s / 32)),"
            " now(), now() FROM generate_series(0, %s - 1) AS g",
            (EVENT_NAME, CATEGORY, LARGE_EVENT_BYTES, total),
        )
        row = connection.execute(
            "SELECT octet_length(payload::text) FROM events LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else 0


def _warm_up_scan(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = event_store_pb2_grpc.EventStoreStub(channel)
        for _ in stub.Scan(event_store_pb2.ScanRequest(target=_LOG, limit=2)):
            pass


def _measure_returned(pid: int, target: str, case: Callable[[], str]) -> MemoryResult:
    """``_measure`` with a scan of two events as warm-up, and what is still held after."""
    _warm_up_scan(target)
    baseline = memory_kib(pid)["VmRSS"]
    with _Sampler(pid) as sampler:
        detail = case()
    peak = max(sampler.peak_kib, memory_kib(pid)["VmHWM"])
    return MemoryResult(
        growth_mb=(peak - baseline) / 1024,
        baseline_mb=baseline / 1024,
        peak_mb=peak / 1024,
        detail=f"{detail}; {(memory_kib(pid)['VmRSS'] - baseline) / 1024:+.0f} MB held after",
    )


def one_scan(pid: int, target: str) -> MemoryResult:
    """One reader scanning the whole log as fast as it can."""

    def case() -> str:
        started = time.perf_counter()
        with grpc.insecure_channel(
            target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        ) as channel:
            stub = event_store_pb2_grpc.EventStoreStub(channel)
            count = sum(
                len(message.events)
                for message in stub.Scan(event_store_pb2.ScanRequest(target=_LOG))
            )
        return f"{count:,} events in {time.perf_counter() - started:.1f} s"

    return _measure_returned(pid, target, case)


def stalled_readers(
    pid: int, target: str, kind: str, count: int, hold_seconds: float
) -> MemoryResult:
    """``count`` scans or subscriptions (``kind``) of the whole log, each on its own
    connection, that read one message and then nothing for ``hold_seconds``."""

    def case() -> str:
        channels = [
            grpc.insecure_channel(
                target,
                options=[
                    ("grpc.use_local_subchannel_pool", 1),
                    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ],
            )
            for _ in range(count)
        ]
        calls: list[Any] = []
        try:
            for channel in channels:
                stub = event_store_pb2_grpc.EventStoreStub(channel)
                call: Any = (
                    stub.Scan(event_store_pb2.ScanRequest(target=_LOG))
                    if kind == "scans"
                    else stub.Subscribe(event_store_pb2.SubscribeRequest(target=_LOG))
                )
                calls.append(call)
                next(call)
            # The readers stall: whatever the server holds for them, it holds now.
            time.sleep(hold_seconds)
        finally:
            for call in calls:
                call.cancel()
            for channel in channels:
                channel.close()
        # Give the server a moment to end the cancelled calls before "held after".
        time.sleep(1.0)
        return f"{count} stalled {kind} held {hold_seconds:.0f} s"

    return _measure_returned(pid, target, case)
