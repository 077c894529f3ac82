"""Bearer tokens: who may call the server, and who may publish.

A tokens file holds one ``<token> <read-only|read-write>`` per line; ``#`` starts a comment.
Every call but the health service's must carry ``authorization: Bearer <token>``: without a
known token it gets ``UNAUTHENTICATED``, and a publish (or a change to a consumer group)
with a read-only token gets ``PERMISSION_DENIED``. Tokens never reach the logs: a call is
identified there by the first characters of the token's SHA-256 at most.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

__all__ = [
    "Access",
    "TokenAuthInterceptor",
    "Tokens",
    "TokensFileError",
    "fingerprint",
    "load_tokens",
    "parse_tokens",
]

_log = logging.getLogger("logicblocks.event.server")

# grpc-stubs makes the interceptor generic; at run time it is a plain class.
if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor

# Probes (load balancers, orchestrators) hold no token.
OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
# Calls that change the store. A read-only token may consume a group (and settle its
# deliveries: that is reading, at least once) but not make, change or delete one.
WRITE_METHODS = frozenset(
    {
        "/logicblocks.event.v1.EventStore/Publish",
        *(
            f"/logicblocks.event.v1.ConsumerGroupService/{method}"
            for method in (
                "CreateGroup",
                "UpdateGroup",
                "ResetGroup",
                "DeleteGroup",
                "ReplayParkedEvents",
                "DropParkedEvents",
            )
        ),
    }
)


class Access(enum.Enum):
    """What a token allows."""

    READ_ONLY = "read-only"
    READ_WRITE = "read-write"


class TokensFileError(ValueError):
    """The tokens file cannot be used; the message names the line, never the token."""


def fingerprint(token: str) -> str:
    """A short, non-reversible name for ``token``, fit for logs."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]


def parse_tokens(text: str, source: str = "tokens file") -> dict[str, Access]:
    """The tokens in ``text`` (the tokens file format) with their access."""
    tokens: dict[str, Access] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokensFileError(f"{source} line {number}: expected '<token> <access>'")
        token, access = parts
        try:
            granted = Access(access)
        except ValueError:
            raise TokensFileError(
                f"{source} line {number}: access must be read-only or read-write"
            ) from None
        if tokens.get(token, granted) is not granted:
            # Which line should win is a guess either way; the guess could hand out writes.
            raise TokensFileError(
                f"{source} line {number}: the token of line {lines[token]} again, "
                f"with other access ({access})"
            )
        tokens[token] = granted
        lines.setdefault(token, number)
    if not tokens:
        raise TokensFileError(f"{source} holds no tokens: no one could call the server")
    return tokens


def load_tokens(path: Path) -> dict[str, Access]:
    """Read the tokens file at ``path``; warn if users other than its owner may read it."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as error:
        raise TokensFileError(f"cannot read tokens file {path}: {error.strerror}") from None
    tokens = parse_tokens(text, str(path))
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        # A warning, not a refusal: mounted secrets (Kubernetes, Docker) are often 0644
        # inside a container no one else logs into.
        _log.warning(
            "event=tokens_file_exposed path=%s mode=%04o advice=%r",
            path,
            stat.S_IMODE(mode),
            "other users may read the tokens: chmod 600 it",
        )
    return tokens


def _rejecting(
    handler: grpc.RpcMethodHandler[Any, Any],
    code: grpc.StatusCode,
    message: str,
    log_refusal: Callable[[str], None],
) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` with its behaviour replaced by ending the call with ``code``.

    ``log_refusal`` is given the caller's peer (known only once the call runs).
    """

    async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        log_refusal(context.peer())
        await context.abort(code, message)

    async def streaming(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        log_refusal(context.peer())
        await context.abort(code, message)
        yield  # pragma: no cover - makes this a generator; abort always raises

    if handler.unary_unary is not None or handler.stream_unary is not None:
        kind = "unary_unary" if handler.unary_unary is not None else "stream_unary"
        return handler._replace(**{kind: unary})  # type: ignore[attr-defined, no-any-return]
    kind = "unary_stream" if handler.unary_stream is not None else "stream_stream"
    return handler._replace(**{kind: streaming})  # type: ignore[attr-defined, no-any-return]


class Tokens:
    """The server's tokens, looked up in constant time; shared by the gRPC and HTTP faces."""

    def __init__(self, tokens: Mapping[str, Access]):
        self._tokens = [(token.encode("utf-8"), access) for token, access in tokens.items()]

    def access(self, presented: str) -> Access | None:
        """What the token ``presented`` allows; ``None`` for a token the server does not know."""
        candidate = presented.encode("utf-8")
        found: Access | None = None
        # Every token is compared, each in constant time, so timing tells nothing about
        # which token (or how much of one) matched.
        for token, access in self._tokens:
            if hmac.compare_digest(candidate, token):
                found = access
        return found

    def of_header(self, header: str) -> Access | None:
        """What an ``authorization`` value allows: ``Bearer <token>``, else ``None``."""
        scheme, _, presented = header.partition(" ")
        return self.access(presented.strip()) if scheme.lower() == "bearer" else None


class TokenAuthInterceptor(_ServerInterceptor):
    """Lets through calls with a known bearer token, and publishes with a read-write one."""

    def __init__(self, tokens: Mapping[str, Access]):
        self._tokens = Tokens(tokens)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        header = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                header = value if isinstance(value, str) else value.decode("utf-8", "replace")
        access = self._tokens.of_header(header)
        if access is None:
            reason = "missing" if not header else "invalid"
            return _rejecting(
                handler,
                grpc.StatusCode.UNAUTHENTICATED,
                "a valid 'authorization: Bearer <token>' is required",
                lambda peer: _log.warning(
                    "event=unauthenticated method=%s peer=%s token=%s", method, peer, reason
                ),
            )
        if access is Access.READ_ONLY and method in WRITE_METHODS:
            token = fingerprint(header.partition(" ")[2].strip())
            return _rejecting(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                "this token is read-only",
                lambda peer: _log.warning(
                    "event=permission_denied method=%s peer=%s token_sha256=%s", method, peer, token
                ),
            )
        return handler
