"""How the operator commands reach a server: the options they share and the clients made
from them.

Events go through the project's own client (``GrpcStorageAdapter``), which already sends
the token, speaks TLS, retries and turns every status into a documented error; the listing
RPCs go through the generated stub on a channel made the same way.
"""

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from logicblocks.event.store.adapters import GrpcStorageAdapter, Scannable
from logicblocks.event.transport.credentials import (
    channel_credentials,
    secure_or_plain_channel,
    token_metadata,
)
from logicblocks.event.types import identifier

from ..options import add_path_options

__all__ = ["DEFAULT_TARGET", "Connection", "add_connection_options", "add_target_options", "scope"]

DEFAULT_TARGET = "127.0.0.1:50051"


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """``--target``, ``--token`` and the client's TLS files, each also from the environment.

    The TLS variables are ``EVENT_STORE_CLIENT_TLS_*``, not the server's
    ``EVENT_STORE_TLS_*``: on a machine that runs both, the server's certificate must not
    become the client's.
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--target",
        default=os.environ.get("EVENT_STORE_TARGET") or DEFAULT_TARGET,
        help="HOST:PORT of the server (env EVENT_STORE_TARGET; default %(default)s)",
    )
    group.add_argument(
        "--token",
        default=os.environ.get("EVENT_STORE_TOKEN") or None,
        help="bearer token, when the server requires one (env EVENT_STORE_TOKEN)",
    )
    add_path_options(
        group,
        {
            "--tls-ca": "PEM CA that signed the server's certificate: speak TLS",
            "--tls-cert": "PEM client certificate, for mutual TLS",
            "--tls-key": "PEM key of --tls-cert",
        },
        env_prefix="EVENT_STORE_CLIENT_",
    )


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--category`` and ``--stream``: the scope a read or a tail covers (the log without)."""
    parser.add_argument("--category", help="only this category's events")
    parser.add_argument("--stream", help="only this stream's events (needs --category)")


def scope(arguments: argparse.Namespace) -> Scannable:
    """The log, a category or a stream, from ``--category`` and ``--stream``."""
    if arguments.stream is not None:
        return identifier.Stream(category=arguments.category, stream=arguments.stream)
    if arguments.category is not None:
        return identifier.Category(category=arguments.category)
    return identifier.Log()


@dataclass
class Connection:
    """The server named by the connection options; make the clients it needs on demand."""

    target: str
    token: str | None
    tls_ca: Path | None
    tls_cert: Path | None
    tls_key: Path | None

    @classmethod
    def from_arguments(cls, arguments: argparse.Namespace) -> "Connection":
        """The connection the parsed options describe."""
        return cls(
            target=arguments.target,
            token=arguments.token,
            tls_ca=arguments.tls_ca,
            tls_cert=arguments.tls_cert,
            tls_key=arguments.tls_key,
        )

    def adapter(self) -> GrpcStorageAdapter:
        """The project's client for this server; close it when done."""
        return GrpcStorageAdapter(
            target=self.target,
            token=self.token,
            root_certificates=self.tls_ca,
            client_certificate=self.tls_cert,
            client_key=self.tls_key,
        )

    def channel(self) -> grpc.Channel:
        """A channel for the generated stubs, with the same TLS as ``adapter``."""
        credentials = channel_credentials(
            root_certificates=self.tls_ca,
            client_certificate=self.tls_cert,
            client_key=self.tls_key,
        )
        return secure_or_plain_channel(self.target, credentials, [])

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The call metadata that carries the token."""
        return token_metadata(self.token)
