"""How errors become gRPC statuses (the table in docs/grpc.md), for the servicer."""

import logging

import grpc
from google.protobuf import any_pb2

# googleapis-common-protos ships no type information.
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from logicblocks.event.store import (
    GroupExistsError,
    GroupNotFoundError,
    InvalidInputError,
    StorageFullError,
    StorageUnavailableError,
    UnmetWriteConditionError,
)
from logicblocks.event.store.start import StartBeyondHeadError
from logicblocks.event.transport.errors import GROUP_RESOURCE

from .limits import ConcurrencyLimitError
from .wire import bad_request_to_wire, condition_failure_to_wire

__all__ = [
    "GROUP_RESOURCE",
    "INTERNAL_MESSAGE",
    "STORAGE_FULL_MESSAGE",
    "STORAGE_UNAVAILABLE_MESSAGE",
    "log_failure",
    "status_for",
    "storage_failure",
]

_log = logging.getLogger("logicblocks.event.server")

# What callers are told of failures that are not theirs, on every face.
STORAGE_FULL_MESSAGE = "storage full: the server's disk is full; nothing was written"
STORAGE_UNAVAILABLE_MESSAGE = "storage unavailable"
INTERNAL_MESSAGE = "internal error"

# PostgreSQL's SQLSTATE for "could not extend file: No space left on device".
_DISK_FULL = "53100"

# Errors meaning the storage cannot be reached right now: the client may retry.
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    StorageUnavailableError,
    ConnectionError,
    TimeoutError,
)


def _rich_status(code: int, message: str, details: object) -> grpc.Status:
    packed = any_pb2.Any()
    packed.Pack(details)  # type: ignore[arg-type]
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=[packed]))


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, _UNAVAILABLE_ERRORS):
        return True
    # psycopg's OperationalError (lost connection, server gone) without importing psycopg:
    # the server runs on backends that do not need it.
    return any(
        cls.__name__ in ("OperationalError", "PoolTimeout")
        and cls.__module__.startswith(("psycopg", "psycopg_pool"))
        for cls in type(error).__mro__
    )


def storage_failure(error: BaseException) -> str | None:
    """``full`` or ``unavailable`` when ``error`` is the storage failing, else ``None``."""
    if isinstance(error, StorageFullError) or getattr(error, "sqlstate", None) == _DISK_FULL:
        return "full"
    if _is_unavailable(error):
        return "unavailable"
    return None


def status_for(error: Exception, *, method: str) -> grpc.Status:
    """The status to end an RPC with for ``error``; never carries a stack trace."""
    if isinstance(error, UnmetWriteConditionError):
        return _rich_status(
            code_pb2.FAILED_PRECONDITION, error.message, condition_failure_to_wire(error)
        )
    if isinstance(error, StartBeyondHeadError):
        # OUT_OF_RANGE, not INVALID_ARGUMENT: the same start becomes valid once the store
        # reaches it. The details name the field, as for invalid input.
        return _rich_status(code_pb2.OUT_OF_RANGE, str(error), bad_request_to_wire(error))
    if isinstance(error, InvalidInputError):
        return _rich_status(code_pb2.INVALID_ARGUMENT, str(error), bad_request_to_wire(error))
    if isinstance(error, GroupNotFoundError | GroupExistsError):
        code = (
            code_pb2.NOT_FOUND if isinstance(error, GroupNotFoundError) else code_pb2.ALREADY_EXISTS
        )
        return _rich_status(
            code,
            str(error),
            error_details_pb2.ResourceInfo(resource_type=GROUP_RESOURCE, resource_name=error.name),
        )
    if isinstance(error, ConcurrencyLimitError):
        return rpc_status.to_status(
            status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=str(error))
        )
    failure = log_failure(error, method=method)
    if failure == "full":
        # Certain (the write was rolled back) and not transient: RESOURCE_EXHAUSTED, which
        # clients do not retry at once as they do UNAVAILABLE.
        return rpc_status.to_status(
            status_pb2.Status(
                code=code_pb2.RESOURCE_EXHAUSTED,
                message=STORAGE_FULL_MESSAGE,
            )
        )
    if failure == "unavailable":
        return rpc_status.to_status(
            status_pb2.Status(code=code_pb2.UNAVAILABLE, message=STORAGE_UNAVAILABLE_MESSAGE)
        )
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message=INTERNAL_MESSAGE))


def log_failure(error: Exception, *, method: str) -> str:
    """Log a failure that is not the caller's doing; say which: ``full``, ``unavailable``
    (storage) or ``internal`` (a bug, logged with its traceback). For both faces."""
    failure = storage_failure(error)
    if failure == "full":
        _log.error(
            "event=storage_full method=%s error=%s cause=%r",
            method,
            type(error).__name__,
            "the disk holding the storage is full: free space; publishes fail until then",
        )
        return failure
    if failure == "unavailable":
        _log.warning("event=storage_unavailable method=%s error=%s", method, type(error).__name__)
        return failure
    _log.exception("event=internal_error method=%s error=%s", method, type(error).__name__)
    return "internal"
