"""W9's transport alone: a group's round trips with no event work in them.

A consumer of W9's group makes one round trip per round of its streams: the server sends
the next event of each stream it holds (about 50 of W9's 200 streams, some 15 KB), the
consumer acknowledges them in one message, and only then can the streams' next events go.
This measures what those round trips cost with nothing else: a bare ``grpc.aio`` server in
a process of its own answers each request of a bidirectional stream with 15 KB of bytes
(generic handlers, no generated code), and each of ``--clients`` spawned processes makes
``--rounds`` round trips on one stream, the way ``GrpcGroupConsumer`` does: the iterating
thread puts the request into a queue that gRPC's request thread drains, then waits for the
response.

Reported per round trip: the wall time each client saw, and the CPU time of the clients and
of the server. Run ``python -m bench.round_trips [--clients 4] [--rounds 250]``; W9 in
docs/benchmarks.md uses its figures.
"""

import argparse
import asyncio
import contextlib
import multiprocessing
import queue
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from multiprocessing.synchronize import Event
from typing import Any

import grpc

from .cpu import process_seconds
from .environment import free_port

__all__ = ["main"]

_METHOD = "/bench.RoundTrips/Chat"
# A W9 delivery message (about 50 events of some 300 bytes) and an ack of 50 ids.
_RESPONSE = b"d" * 15_000
_REQUEST = b"a" * 200
_TIMEOUT = 120.0


async def _chat(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    async for _ in requests:
        yield _RESPONSE


async def _serve(target: str, ready: Event) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.RoundTrips", {"Chat": grpc.stream_stream_rpc_method_handler(_chat)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(target)
    await server.start()
    ready.set()
    await server.wait_for_termination()


def _server(target: str, ready: Event) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(target, ready))


def _client(
    target: str,
    rounds: int,
    ready: Event,
    go: Event,
    results: "multiprocessing.Queue[tuple[float, float]]",
) -> None:
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def requests() -> Iterator[bytes]:
        while (item := outbox.get()) is not None:
            yield item

    with grpc.insecure_channel(target) as channel:
        # A grpc.CallIterator (typed without __next__ in grpc-stubs).
        call: Any = channel.stream_stream(_METHOD, None, None)(requests())
        outbox.put(_REQUEST)
        next(call)  # connected, and the stream open, before the clock
        ready.set()
        go.wait()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            outbox.put(_REQUEST)
            next(call)
        results.put((time.perf_counter() - wall, time.process_time() - cpu))
        outbox.put(None)


def measure(clients: int, rounds: int) -> str:
    """One measurement, as a line of text."""
    context = multiprocessing.get_context("spawn")
    target = f"127.0.0.1:{free_port()}"
    server_ready, go = context.Event(), context.Event()
    server = context.Process(target=_server, args=(target, server_ready), daemon=True)
    server.start()
    try:
        if not server_ready.wait(_TIMEOUT) or server.pid is None:
            raise RuntimeError("the server did not start")
        results: multiprocessing.Queue[tuple[float, float]] = context.Queue()
        readies = [context.Event() for _ in range(clients)]
        processes = [
            context.Process(target=_client, args=(target, rounds, ready, go, results))
            for ready in readies
        ]
        for process in processes:
            process.start()
        for ready in readies:
            if not ready.wait(_TIMEOUT):
                raise RuntimeError("a client did not connect")
        server_before = process_seconds(server.pid)
        go.set()
        measured = [results.get(timeout=_TIMEOUT) for _ in processes]
        server_cpu = process_seconds(server.pid) - server_before
        for process in processes:
            process.join(_TIMEOUT)
    finally:
        server.kill()
        server.join()
    trips = clients * rounds
    wall = statistics.median(seconds for seconds, _ in measured) / rounds
    client_cpu = sum(cpu for _, cpu in measured) / trips
    return (
        f"{clients} client(s) x {rounds} round trips: {wall * 1e3:.2f} ms per round trip "
        f"(median client); CPU per round trip: clients {client_cpu * 1e3:.3f} ms, "
        f"server {server_cpu / trips * 1e3:.3f} ms"
    )


def main() -> None:
    """Measure with one client and with ``--clients``, and print both."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=250)
    arguments = parser.parse_args()
    for clients in sorted({1, arguments.clients}):
        print(measure(clients, arguments.rounds), flush=True)


if __name__ == "__main__":
    main()
