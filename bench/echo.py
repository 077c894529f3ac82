"""A bare gRPC echo service: the transport's limit for W2.

The server is ``grpc.aio`` in its own process, as ours is, with one unary method that
returns the request's bytes unchanged (generic handlers, no generated code). The client
sends a serialized one-event ``PublishRequest``, so the messages are the size of W2's.
Run ``python -m bench.echo --listen HOST:PORT``; it prints ``ready`` once it serves.
"""

import argparse
import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator

import grpc

from logicblocks.event.store.records import prepare_events
from logicblocks.event.transport.wire import pending_event_to_wire, stream_to_wire
from logicblocks.event.types import identifier
from logicblocks.event.v1 import event_store_pb2

from .events import CATEGORY, new_events
from .timing import Stopwatch, run_threads

__all__ = ["METHOD", "echo_server", "publish_concurrently"]

METHOD = "/bench.Echo/Echo"


async def _echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


async def _serve(listen: str) -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(listen)
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


@contextlib.contextmanager
def echo_server(target: str) -> Iterator[int]:
    """Run the echo server on ``target`` in a child process; yield its pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", "--listen", target],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the echo server did not start")
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _request_bytes() -> bytes:
    stream = identifier.Stream(category=CATEGORY, stream="echo")
    request = event_store_pb2.PublishRequest(
        target=stream_to_wire(stream),
        events=[pending_event_to_wire(e) for e in prepare_events(new_events(1))],
    )
    return request.SerializeToString()


def publish_concurrently(
    target: str, clients: int, publishes: int, watch: Stopwatch | None = None
) -> float:
    """W2's shape over the echo: ``clients`` threads on one channel, calls/s."""
    watch = watch or Stopwatch()
    request = _request_bytes()
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(METHOD, None, None)
        call(request, timeout=10)

        def work(index: int) -> None:
            for _ in range(publishes):
                call(request, timeout=10)

        run_threads(clients, work, watch)
        return watch.rate(clients * publishes)


def main() -> None:
    """Serve the echo until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(arguments.listen))


if __name__ == "__main__":
    main()
