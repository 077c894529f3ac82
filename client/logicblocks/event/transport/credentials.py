"""How a gRPC client proves who it is: TLS channel credentials and a bearer token.

Asking for TLS gives a secure channel and nothing else: there is no plaintext fallback, so
a server that does not speak TLS fails the calls with ``UNAVAILABLE``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import grpc

from logicblocks.event.store.exceptions import ConfigurationError

__all__ = [
    "BearerTokenInterceptor",
    "PemSource",
    "bearer_header",
    "channel_credentials",
    "secure_or_plain_channel",
]

# PEM bytes, or the path of a PEM file.
PemSource = bytes | str | Path

# grpc-stubs makes the interceptors generic; at run time they are plain classes.
if TYPE_CHECKING:
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStream = grpc.UnaryStreamClientInterceptor[Any, Any]
else:
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor
    _UnaryStream = grpc.UnaryStreamClientInterceptor


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


def bearer_header(token: str) -> tuple[str, str]:
    """The ``authorization`` metadata entry carrying ``token``; rejects unusable tokens."""
    if not token or any(character.isspace() for character in token):
        raise ConfigurationError("token must be non-empty and hold no whitespace")
    return ("authorization", f"Bearer {token}")


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: Any


class BearerTokenInterceptor(_UnaryUnary, _UnaryStream):
    """Adds ``authorization: Bearer <token>`` to every unary and server-streaming call.

    An interceptor rather than call credentials, because gRPC sends call credentials over
    TLS only and servers on a private network may run plaintext.
    """

    def __init__(self, token: str):
        self._header = bearer_header(token)

    def __repr__(self) -> str:
        # Never show the token (in tracebacks, debuggers, logs).
        return "BearerTokenInterceptor(token=***)"

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(  # type: ignore[return-value]
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        """Send the call with the token added."""
        return continuation(self._with_token(client_call_details), request)

    def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        """Send the call with the token added."""
        return continuation(self._with_token(client_call_details), request)


def secure_or_plain_channel(
    target: str,
    credentials: grpc.ChannelCredentials | None,
    token: str | None,
    options: list[tuple[str, Any]],
) -> grpc.Channel:
    """A channel to ``target``: TLS when ``credentials`` is given, with ``token`` on every call."""
    channel = (
        grpc.secure_channel(target, credentials, options=options)
        if credentials is not None
        else grpc.insecure_channel(target, options=options)
    )
    if token is None:
        return channel
    return grpc.intercept_channel(channel, BearerTokenInterceptor(token))
