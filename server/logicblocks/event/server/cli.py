"""The command line: ``logicblocks-event-store serve`` and ``logicblocks-event-store health``."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .app import DEFAULT_GRACE_SECONDS, DEFAULT_LISTEN, EventStoreServer, serve_until_signalled
from .logs import configure_logging
from .storage_url import DEFAULT_STORAGE_URL, StorageUrlError, open_storage

__all__ = ["main"]

_log = logging.getLogger("logicblocks.event.server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logicblocks-event-store", description="The logicblocks event store server."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gRPC server")
    serve.add_argument(
        "--listen",
        default=os.environ.get("EVENT_STORE_LISTEN", DEFAULT_LISTEN),
        help="HOST:PORT to listen on (env EVENT_STORE_LISTEN; default %(default)s)",
    )
    serve.add_argument(
        "--storage",
        default=os.environ.get("EVENT_STORE_STORAGE", DEFAULT_STORAGE_URL),
        help=(
            "storage URL: memory://, sqlite:///path.db or postgresql://user:pass@host/db "
            "(env EVENT_STORE_STORAGE; default %(default)s)"
        ),
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        help="seconds in-flight calls get to finish on SIGTERM/SIGINT (default %(default)s)",
    )
    serve.add_argument(
        "--log-level",
        default=os.environ.get("EVENT_STORE_LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING or ERROR (env EVENT_STORE_LOG_LEVEL; default %(default)s)",
    )

    health = commands.add_parser(
        "health", help="ask a server's gRPC health service; exit 0 when it is SERVING"
    )
    health.add_argument(
        "--target",
        default=os.environ.get("EVENT_STORE_LISTEN", DEFAULT_LISTEN).replace(
            "0.0.0.0", "127.0.0.1"
        ),
        help="HOST:PORT of the server (default %(default)s)",
    )
    health.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    return parser


def redact(url: str) -> str:
    """A storage URL fit for logs: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _serve(arguments: argparse.Namespace) -> int:
    configure_logging(arguments.log_level)
    try:
        adapter = open_storage(arguments.storage)
    except (StorageUrlError, OSError) as error:
        _log.error(
            "event=storage_open_failed storage=%s error=%r", redact(arguments.storage), str(error)
        )
        print(f"logicblocks-event-store: cannot open storage: {error}", file=sys.stderr)
        return 2
    try:
        server = EventStoreServer(adapter, listen=arguments.listen)
        _log.info(
            "event=starting listen=%s storage=%s", arguments.listen, redact(arguments.storage)
        )
        try:
            asyncio.run(serve_until_signalled(server, arguments.grace))
        except OSError as error:
            print(f"logicblocks-event-store: {error}", file=sys.stderr)
            return 2
    finally:
        adapter.close()
    return 0


def _health(arguments: argparse.Namespace) -> int:
    with grpc.insecure_channel(arguments.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(), timeout=arguments.timeout)
        except grpc.RpcError as error:
            print(f"unhealthy: {error.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    print(status)
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process's exit status."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "serve":
        return _serve(arguments)
    return _health(arguments)


if __name__ == "__main__":
    sys.exit(main())
