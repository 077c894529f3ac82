"""How the server turns an error into a gRPC status (``status.status_for``), without a
server: the code each kind of error gets, the machine-readable details a client in any
language decodes, and nothing of an unexpected exception in what the client sees."""

import grpc
import psycopg
import psycopg_pool
import pytest
from google.protobuf import any_pb2

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from logicblocks.event.server.limits import ConcurrencyLimitError
from logicblocks.event.server.status import status_for
from logicblocks.event.store import (
    InvalidInputError,
    PublishOutcomeUnknownError,
    StorageFullError,
    StorageUnavailableError,
    UnmetWriteConditionError,
    position_is,
    stream_is_empty,
)
from logicblocks.event.store.start import StartBeyondHeadError
from logicblocks.event.v1 import conditions_pb2

_DETAILS_KEY = "grpc-status-details-bin"


def rich_status(status: grpc.Status) -> status_pb2.Status:
    """The ``google.rpc.Status`` a client decodes from the trailing metadata."""
    metadata = dict(status.trailing_metadata)
    assert _DETAILS_KEY in metadata, "no rich status"
    rich = status_pb2.Status.FromString(metadata[_DETAILS_KEY])
    # The two must agree, or grpc_status refuses the status on the client.
    assert rich.code == status.code.value[0]
    assert rich.message == status.details
    return rich


def details(status: grpc.Status) -> list[any_pb2.Any]:
    return list(rich_status(status).details)


def bad_request(status: grpc.Status) -> error_details_pb2.BadRequest:
    (packed,) = details(status)
    violation = error_details_pb2.BadRequest()
    assert packed.Unpack(violation)
    return violation


def test_an_unmet_position_condition_is_failed_precondition_with_its_failure() -> None:
    error = UnmetWriteConditionError(
        "unexpected stream position",
        category="orders",
        stream="o-1",
        condition=position_is(3),
        last_position=5,
    )

    status = status_for(error, method="Publish")

    assert status.code is grpc.StatusCode.FAILED_PRECONDITION
    assert status.details == "unexpected stream position"
    (packed,) = details(status)
    failure = conditions_pb2.WriteConditionFailure()
    assert packed.Unpack(failure)
    assert (failure.category, failure.stream) == ("orders", "o-1")
    assert failure.condition.position_is.position == 3
    assert failure.last_position == 5


def test_an_unmet_empty_stream_condition_says_which_condition_failed() -> None:
    error = UnmetWriteConditionError(
        "stream is not empty",
        category="orders",
        stream="o-1",
        condition=stream_is_empty(),
        last_position=0,
    )

    (packed,) = details(status_for(error, method="Publish"))

    failure = conditions_pb2.WriteConditionFailure()
    assert packed.Unpack(failure)
    assert failure.condition.WhichOneof("condition") == "stream_is_empty"
    assert failure.HasField("last_position") and failure.last_position == 0


def test_invalid_input_is_invalid_argument_naming_the_field_and_the_rule() -> None:
    error = InvalidInputError("events[2].payload", "must be a JSON object")

    status = status_for(error, method="Publish")

    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert status.details == "events[2].payload: must be a JSON object"
    (violation,) = bad_request(status).field_violations
    assert violation.field == "events[2].payload"
    assert violation.description == "must be a JSON object"


def test_a_start_beyond_the_head_is_out_of_range_naming_the_field() -> None:
    # An InvalidInputError too, but a start the store will reach is not a bad argument.
    status = status_for(StartBeyondHeadError(10, 3), method="Subscribe")

    assert status.code is grpc.StatusCode.OUT_OF_RANGE
    (violation,) = bad_request(status).field_violations
    assert violation.field == "after_sequence_number"
    assert "beyond the head" in violation.description
    assert "(3)" in violation.description


def test_a_concurrency_limit_is_resource_exhausted_naming_the_limit() -> None:
    error = ConcurrencyLimitError("subscriptions", "max_subscriptions_per_connection", 100)

    status = status_for(error, method="Subscribe")

    assert status.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "max_subscriptions_per_connection=100" in status.details
    assert "retry later" in status.details
    assert details(status) == []


@pytest.mark.parametrize(
    "error",
    [
        StorageUnavailableError("database restarting"),
        PublishOutcomeUnknownError("answer lost"),
        ConnectionError("connection reset"),
        ConnectionRefusedError("refused"),
        TimeoutError("pool timeout"),
        psycopg.OperationalError("server closed the connection unexpectedly"),
        psycopg_pool.PoolTimeout("couldn't get a connection after 30 sec"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_storage_that_cannot_be_reached_is_unavailable(error: Exception) -> None:
    status = status_for(error, method="Scan")

    assert status.code is grpc.StatusCode.UNAVAILABLE
    assert status.details == "storage unavailable"
    assert details(status) == []


@pytest.mark.parametrize(
    "error",
    [StorageFullError("no space left"), psycopg.errors.DiskFull("could not extend file")],
    ids=lambda error: type(error).__name__,
)
def test_a_full_storage_is_resource_exhausted_not_unavailable(error: Exception) -> None:
    # DiskFull is an OperationalError: without its own rule it would be UNAVAILABLE,
    # which clients retry at once.
    status = status_for(error, method="Publish")

    assert status.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "storage full" in status.details
    assert "nothing was written" in status.details


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("secret: /var/lib/store/events.db at 0x7f00"),
        KeyError("secret-key"),
        psycopg.errors.UndefinedTable('relation "secret_events" does not exist'),
    ],
    ids=lambda error: type(error).__name__,
)
def test_anything_else_is_internal_with_nothing_of_the_exception(error: Exception) -> None:
    try:
        raise error
    except Exception as raised:
        status = status_for(raised, method="Publish")

    assert status.code is grpc.StatusCode.INTERNAL
    assert status.details == "internal error"
    assert details(status) == []
    assert b"secret" not in dict(status.trailing_metadata)[_DETAILS_KEY]


def test_the_method_and_error_kind_are_logged_for_an_internal_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("ERROR", logger="logicblocks.event.server"):
        status_for(RuntimeError("boom"), method="Scan")

    assert any(
        "method=Scan" in record.getMessage() and "error=RuntimeError" in record.getMessage()
        for record in caplog.records
    )


def test_postgresql_s_full_disk_stays_storage_full_through_the_engine() -> None:
    # The engine wraps psycopg's errors once, where it talks to the database; the full disk
    # must come out of that as StorageFullError, not as a retryable outage.
    from logicblocks.event.storage.postgres.connection import storage_errors

    with pytest.raises(StorageFullError) as raised, storage_errors():
        raise psycopg.errors.DiskFull("could not extend file")
    assert status_for(raised.value, method="Publish").code is grpc.StatusCode.RESOURCE_EXHAUSTED
