"""The one mapping from gRPC statuses to documented errors, shared by both clients.

Every status code has a row, for a read and for a publish. The publish column is the
promise that matters: only statuses that prove nothing was written may become errors
that say so; everything else is ``PublishOutcomeUnknownError``.
"""

import grpc
import pytest
from google.protobuf import any_pb2

from logicblocks.event.store import (
    AuthenticationError,
    EventStoreError,
    InvalidInputError,
    LimitExceededError,
    PermissionDeniedError,
    PublishOutcomeUnknownError,
    ServerError,
    StorageUnavailableError,
    UnmetWriteConditionError,
)
from logicblocks.event.transport.errors import PublishAttempt, error_for_status
from logicblocks.event.types import NewEvent, identifier
from logicblocks.event.v1 import conditions_pb2

# googleapis-common-protos ships no type information.
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # isort: skip

S = grpc.StatusCode
UNKNOWN_OUTCOME = PublishOutcomeUnknownError
ATTEMPT = PublishAttempt(
    target=identifier.Stream(category="orders", stream="o-1"),
    events=[NewEvent(id="e-1", name="placed", payload={"n": 1})],
)

# code: (error of a read, error of a publish)
TABLE: dict[grpc.StatusCode, tuple[type[EventStoreError], type[EventStoreError]]] = {
    S.OK: (ServerError, UNKNOWN_OUTCOME),
    S.CANCELLED: (StorageUnavailableError, UNKNOWN_OUTCOME),
    S.UNKNOWN: (ServerError, UNKNOWN_OUTCOME),
    S.INVALID_ARGUMENT: (InvalidInputError, InvalidInputError),
    S.DEADLINE_EXCEEDED: (StorageUnavailableError, UNKNOWN_OUTCOME),
    S.NOT_FOUND: (ServerError, UNKNOWN_OUTCOME),
    S.ALREADY_EXISTS: (ServerError, UNKNOWN_OUTCOME),
    S.PERMISSION_DENIED: (PermissionDeniedError, PermissionDeniedError),
    S.RESOURCE_EXHAUSTED: (LimitExceededError, LimitExceededError),
    S.FAILED_PRECONDITION: (UnmetWriteConditionError, UnmetWriteConditionError),
    S.ABORTED: (StorageUnavailableError, UNKNOWN_OUTCOME),
    S.OUT_OF_RANGE: (InvalidInputError, UNKNOWN_OUTCOME),
    S.UNIMPLEMENTED: (ServerError, ServerError),
    S.INTERNAL: (ServerError, UNKNOWN_OUTCOME),
    S.UNAVAILABLE: (StorageUnavailableError, UNKNOWN_OUTCOME),
    S.DATA_LOSS: (ServerError, UNKNOWN_OUTCOME),
    S.UNAUTHENTICATED: (AuthenticationError, AuthenticationError),
}


def test_the_table_has_every_status_code() -> None:
    assert set(TABLE) == set(grpc.StatusCode)


@pytest.mark.parametrize("code", list(TABLE), ids=[code.name for code in TABLE])
def test_every_status_maps_to_its_documented_error(code: grpc.StatusCode) -> None:
    read, publish = TABLE[code]
    message = "too many concurrent subscriptions" if code == S.RESOURCE_EXHAUSTED else "boom"
    assert type(error_for_status(code, message)) is read
    assert type(error_for_status(code, message, publish=ATTEMPT)) is publish


@pytest.mark.parametrize(
    ("message", "read", "publish"),
    [
        # The request was refused for its size before anything handled it: nothing written.
        ("CLIENT: Sent message larger than max (9 vs. 4)", InvalidInputError, InvalidInputError),
        (
            "SERVER: Received message larger than max (9 vs. 4)",
            InvalidInputError,
            InvalidInputError,
        ),
        # The answer was refused for its size: it came after the write.
        ("CLIENT: Received message larger than max (9 vs. 4)", LimitExceededError, UNKNOWN_OUTCOME),
        ("SERVER: Sent message larger than max (9 vs. 4)", LimitExceededError, UNKNOWN_OUTCOME),
        # A server limit, refused before anything is written.
        ("too many concurrent subscriptions: retry later", LimitExceededError, LimitExceededError),
    ],
)
def test_resource_exhausted_is_uncertain_only_for_an_answer_too_large(
    message: str, read: type[EventStoreError], publish: type[EventStoreError]
) -> None:
    assert type(error_for_status(S.RESOURCE_EXHAUSTED, message)) is read
    assert type(error_for_status(S.RESOURCE_EXHAUSTED, message, publish=ATTEMPT)) is publish


def test_an_unknown_outcome_carries_the_events_to_retry_with_their_ids() -> None:
    error = error_for_status(S.DEADLINE_EXCEEDED, "Deadline Exceeded", publish=ATTEMPT)
    assert isinstance(error, PublishOutcomeUnknownError)
    assert error.target == ATTEMPT.target
    assert error.events == tuple(ATTEMPT.events)
    assert error.ids == ("e-1",)
    assert "may or may not be stored" in str(error)
    # Callers who retry on StorageUnavailableError keep doing so.
    assert isinstance(error, StorageUnavailableError)


def test_rich_details_are_read() -> None:
    bad = any_pb2.Any()
    bad.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="events[2].payload", description="must be a JSON object"
                )
            ]
        )
    )
    invalid = error_for_status(S.INVALID_ARGUMENT, "ignored", [bad], publish=ATTEMPT)
    assert isinstance(invalid, InvalidInputError)
    assert (invalid.field, invalid.rule) == ("events[2].payload", "must be a JSON object")

    failure = any_pb2.Any()
    failure.Pack(conditions_pb2.WriteConditionFailure(category="c", stream="s", last_position=4))
    unmet = error_for_status(S.FAILED_PRECONDITION, "not empty", [failure], publish=ATTEMPT)
    assert isinstance(unmet, UnmetWriteConditionError)
    assert (unmet.category, unmet.stream, unmet.last_position) == ("c", "s", 4)


def test_every_error_is_an_event_store_error_and_invalid_input_stays_a_value_error() -> None:
    for code in TABLE:
        assert isinstance(error_for_status(code, "x"), EventStoreError)
    assert issubclass(InvalidInputError, ValueError)
