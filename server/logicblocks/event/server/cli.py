"""The command line: ``logicblocks-event-store serve`` and ``logicblocks-event-store health``,
and the operator's client subcommands (``read``, ``tail``, ``publish``, ..., in ``operator/``)."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from logicblocks.event.store.exceptions import ConfigurationError
from logicblocks.event.transport.credentials import channel_credentials, secure_or_plain_channel

from .allocator import configure_allocator
from .app import DEFAULT_GRACE_SECONDS, DEFAULT_LISTEN, EventStoreServer, serve_until_signalled
from .auth import TokensFileError, load_tokens
from .limits import Limits
from .logs import LOG_FORMATS, configure_logging
from .metrics import parse_listen
from .operator import add_operator_commands, run_operator_command
from .options import add_path_options
from .storage_url import DEFAULT_STORAGE_URL, StorageUrlError, open_storage, redact
from .tls import ServerTls
from .version import DISTRIBUTION, version
from .workers import WorkerSeat, supervise, workers_refusal

__all__ = ["main", "serve"]

_log = logging.getLogger("logicblocks.event.server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logicblocks-event-store", description="The logicblocks event store server."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version()} ({DISTRIBUTION})"
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
        type=_log_level,
        default=os.environ.get("EVENT_STORE_LOG_LEVEL", "INFO"),
        help="DEBUG, INFO, WARNING or ERROR (env EVENT_STORE_LOG_LEVEL; default %(default)s)",
    )
    serve.add_argument(
        "--log-format",
        type=_log_format,
        default=os.environ.get("EVENT_STORE_LOG_FORMAT", "text"),
        help="text (key=value) or json, one line per event on standard error "
        "(env EVENT_STORE_LOG_FORMAT; default %(default)s)",
    )
    serve.add_argument(
        "--metrics-listen",
        type=_host_port,
        default=os.environ.get("EVENT_STORE_METRICS_LISTEN") or None,
        help="HOST:PORT to serve Prometheus metrics on, at /metrics; with --workers N, "
        "worker k (from 0) on PORT+k (env EVENT_STORE_METRICS_LISTEN; default: off)",
    )
    serve.add_argument(
        "--http-listen",
        type=_host_port,
        default=os.environ.get("EVENT_STORE_HTTP_LISTEN") or None,
        help="HOST:PORT to serve the HTTP/JSON API and the web console on, with the same "
        "storage, tokens and TLS; with --workers N, every worker shares it "
        "(env EVENT_STORE_HTTP_LISTEN; default: off)",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        # A string default goes through `type`, so a bad environment value is a usage error.
        default=os.environ.get("EVENT_STORE_WORKERS", "1"),
        help="server processes sharing the port, PostgreSQL storage only "
        "(env EVENT_STORE_WORKERS; default %(default)s)",
    )

    _add_limit_options(serve)
    _add_security_options(serve)

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
    health.add_argument(
        "--tls-ca",
        type=Path,
        default=os.environ.get("EVENT_STORE_HEALTH_TLS_CA"),
        help="PEM CA to check a TLS server's certificate with (env EVENT_STORE_HEALTH_TLS_CA)",
    )
    health.add_argument(
        "--tls-cert",
        type=Path,
        default=os.environ.get("EVENT_STORE_HEALTH_TLS_CERT"),
        help="PEM client certificate, for mutual TLS (env EVENT_STORE_HEALTH_TLS_CERT)",
    )
    health.add_argument(
        "--tls-key",
        type=Path,
        default=os.environ.get("EVENT_STORE_HEALTH_TLS_KEY"),
        help="PEM client key, for mutual TLS (env EVENT_STORE_HEALTH_TLS_KEY)",
    )
    add_operator_commands(commands)
    return parser


def _log_level(text: str) -> str:
    level = text.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise argparse.ArgumentTypeError(f"{text!r} is not DEBUG, INFO, WARNING or ERROR")
    return level


def _log_format(text: str) -> str:
    if text.strip().lower() not in LOG_FORMATS:
        raise argparse.ArgumentTypeError(f"{text!r} is not {' or '.join(LOG_FORMATS)}")
    return text.strip().lower()


def _host_port(text: str) -> str:
    try:
        parse_listen(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_limit_options(serve: argparse.ArgumentParser) -> None:
    """One ``--max-...`` flag (env ``EVENT_STORE_MAX_...``) per field of ``Limits``."""
    for field in fields(Limits):
        env = f"EVENT_STORE_{field.name.upper()}"
        serve.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=_positive_int,
            # A string default goes through `type` like a flag, so a bad environment value
            # is reported as a usage error, not a traceback.
            default=os.environ.get(env, str(field.default)),
            help=f"(env {env}; default %(default)s)",
        )


def _add_security_options(serve: argparse.ArgumentParser) -> None:
    add_path_options(
        serve,
        {
            "--auth-tokens-file": "file of '<token> <read-only|read-write>' lines; calls need one",
            "--tls-cert": "PEM certificate chain: serve TLS only",
            "--tls-key": "PEM private key of --tls-cert",
            "--tls-client-ca": "PEM CA that must have signed clients' certificates (mutual TLS)",
        },
        env_prefix="EVENT_STORE_",
    )


def _limits(arguments: argparse.Namespace) -> Limits:
    return Limits(**{field.name: getattr(arguments, field.name) for field in fields(Limits)})


def _tls(arguments: argparse.Namespace) -> ServerTls | None:
    if arguments.tls_cert is None and arguments.tls_key is None:
        if arguments.tls_client_ca is not None:
            raise ValueError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if arguments.tls_cert is None or arguments.tls_key is None:
        raise ValueError("--tls-cert and --tls-key go together")
    try:
        return ServerTls.from_files(arguments.tls_cert, arguments.tls_key, arguments.tls_client_ca)
    except OSError as error:
        raise ValueError(f"cannot read {error.filename}: {error.strerror}") from None


def serve(arguments: argparse.Namespace, seat: WorkerSeat | None = None) -> int:
    """Run ``serve`` as its ``arguments`` say: one server, or the supervisor of
    ``--workers``, or (``seat`` given) one of its workers; returns the exit status."""
    configure_logging(
        arguments.log_level,
        arguments.log_format,
        context=seat.log_context() if seat is not None else None,
    )
    # Before any thread starts: see allocator.py for why memory is not given back otherwise.
    configure_allocator()
    try:
        tls = _tls(arguments)
        tokens = (
            load_tokens(arguments.auth_tokens_file)
            if arguments.auth_tokens_file is not None
            else None
        )
    except (ValueError, TokensFileError) as error:
        print(f"logicblocks-event-store: {error}", file=sys.stderr)
        return 2
    supervising = seat is None and arguments.workers > 1
    refusal = workers_refusal(arguments.workers, arguments.storage) if supervising else None
    if refusal is not None:
        print(f"logicblocks-event-store: {refusal}", file=sys.stderr)
        return 2
    try:
        # The supervisor opens the storage too, and closes it before starting the workers:
        # a failure is then one line, and the schema is migrated once, not by each worker.
        adapter = open_storage(arguments.storage)
    except (StorageUrlError, OSError) as error:
        _log.error(
            "event=storage_open_failed storage=%s error=%r", redact(arguments.storage), str(error)
        )
        print(f"logicblocks-event-store: cannot open storage: {error}", file=sys.stderr)
        return 2
    if supervising:
        adapter.close()
        _log.info(
            "event=starting listen=%s storage=%s workers=%d",
            arguments.listen,
            redact(arguments.storage),
            arguments.workers,
        )
        return supervise(arguments)
    try:
        server = EventStoreServer(
            adapter,
            listen=arguments.listen if seat is None else seat.listen,
            limits=_limits(arguments),
            tokens=tokens,
            tls=tls,
            metrics_listen=arguments.metrics_listen if seat is None else seat.metrics_listen,
            shared_port=seat is not None,
            http_listen=arguments.http_listen,
        )
        if seat is None:
            _log.info(
                "event=starting listen=%s storage=%s", arguments.listen, redact(arguments.storage)
            )
        try:
            asyncio.run(
                serve_until_signalled(
                    server, arguments.grace, seat.started if seat is not None else None
                )
            )
        except OSError as error:
            print(f"logicblocks-event-store: {error}", file=sys.stderr)
            return 2
    finally:
        adapter.close()
    return 0


def _health(arguments: argparse.Namespace) -> int:
    # The clients' own TLS rules: the same files make the same channel as theirs.
    try:
        credentials = channel_credentials(
            root_certificates=arguments.tls_ca,
            client_certificate=arguments.tls_cert,
            client_key=arguments.tls_key,
        )
    except ConfigurationError as error:
        print(f"logicblocks-event-store: {error}", file=sys.stderr)
        return 2
    with secure_or_plain_channel(arguments.target, credentials, []) as channel:
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
        return serve(arguments)
    if getattr(arguments, "operator", None) is not None:
        return run_operator_command(arguments)
    return _health(arguments)


if __name__ == "__main__":
    sys.exit(main())
