"""How a gRPC client proves who it is: TLS channel credentials and a bearer token.

Asking for TLS gives a secure channel and nothing else: there is no plaintext fallback, so
a server that does not speak TLS fails the calls with ``UNAVAILABLE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from logicblocks.event.store.exceptions import ConfigurationError

__all__ = [
    "PemSource",
    "channel_credentials",
    "secure_or_plain_aio_channel",
    "secure_or_plain_channel",
    "token_metadata",
]

# PEM bytes, or the path of a PEM file.
PemSource = bytes | str | Path


def _pem(source: PemSource | None) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise ConfigurationError(f"cannot read {source}: {error.strerror or error}") from None


def channel_credentials(
    *,
    credentials: grpc.ChannelCredentials | None = None,
    root_certificates: PemSource | None = None,
    client_certificate: PemSource | None = None,
    client_key: PemSource | None = None,
) -> grpc.ChannelCredentials | None:
    """TLS credentials from the arguments, or ``None`` for plaintext when none is given.

    ``root_certificates`` checks the server (the system's roots when omitted but TLS is
    asked for); ``client_certificate`` with ``client_key`` is for mutual TLS.
    """
    tls_arguments = (root_certificates, client_certificate, client_key)
    if credentials is not None:
        if any(argument is not None for argument in tls_arguments):
            raise ConfigurationError("give either credentials or TLS files, not both")
        return credentials
    if (client_certificate is None) != (client_key is None):
        raise ConfigurationError("client_certificate and client_key go together")
    if all(argument is None for argument in tls_arguments):
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_pem(root_certificates),
        private_key=_pem(client_key),
        certificate_chain=_pem(client_certificate),
    )


def token_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The metadata both clients send with every call: ``authorization: Bearer <token>``,
    or nothing without a token; rejects unusable tokens.

    Per-call metadata, not call credentials, and the same in both clients: gRPC attaches
    call credentials only to channels with a secure transport (``insecure_channel``
    cannot carry them; ``local_channel_credentials`` can, but for loopback and Unix
    sockets only), and a server on a private network may run plaintext with tokens.
    Metadata goes out alike over TLS and plaintext, on ``grpc`` and ``grpc.aio`` stubs,
    with no interceptor wrapping the channel.
    """
    if token is None:
        return ()
    if not token or any(character.isspace() for character in token):
        raise ConfigurationError("token must be non-empty and hold no whitespace")
    return (("authorization", f"Bearer {token}"),)


def secure_or_plain_channel(
    target: str, credentials: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]
) -> grpc.Channel:
    """A blocking channel to ``target``: TLS when ``credentials`` is given, else plaintext."""
    if credentials is not None:
        return grpc.secure_channel(target, credentials, options=options)
    return grpc.insecure_channel(target, options=options)


def secure_or_plain_aio_channel(
    target: str, credentials: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]
) -> grpc.aio.Channel:
    """An asyncio channel to ``target``: TLS when ``credentials`` is given, else plaintext."""
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=options)
    return grpc.aio.insecure_channel(target, options=options)
