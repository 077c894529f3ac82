"""How errors become HTTP answers: one JSON body shape, the statuses docs/http.md lists.

The body's ``code`` is the gRPC status the same failure gets over gRPC, and for bad input
``field`` and ``rule`` are what gRPC's ``BadRequest`` says, so one client can read both
faces alike. ``parameter`` says where in the HTTP request the field came from (a query
parameter, a URL segment, a header), since query parameters are named for people
(``after``) where gRPC fields are paths (``after_sequence_number``).
"""

import json
from collections.abc import Callable, Mapping

from aiohttp import web

from logicblocks.event.store import (
    GroupNotFoundError,
    InvalidInputError,
    UnmetWriteConditionError,
)
from logicblocks.event.store.start import StartBeyondHeadError

from ..limits import ConcurrencyLimitError, OverLimitError
from ..status import (
    INTERNAL_MESSAGE,
    STORAGE_FULL_MESSAGE,
    STORAGE_UNAVAILABLE_MESSAGE,
    log_failure,
)
from .json_out import condition_json

__all__ = ["error_body", "error_response", "json_response"]

JSON_TYPE = "application/json"


def json_response(
    text: str, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """An API answer holding the JSON ``text``; API answers are never cached."""
    return web.Response(
        text=text,
        status=status,
        content_type=JSON_TYPE,
        charset="utf-8",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def error_body(code: str, message: str, **details: object) -> str:
    """The JSON text of an error: ``code``, ``message`` and the kind's own keys."""
    return json.dumps({"code": code, "message": message, **details}, ensure_ascii=False)


def _invalid_input(
    error: InvalidInputError, parameters: Mapping[str, str], **more: object
) -> dict[str, object]:
    return {
        "field": error.field,
        "rule": error.rule,
        "parameter": parameters.get(error.field),
        **more,
    }


def error_response(
    error: Exception,
    *,
    method: str,
    parameters: Mapping[str, str] = {},
    on_storage_error: Callable[[str], None] | None = None,
) -> web.Response:
    """The answer to a request that failed with ``error``; never carries a stack trace.

    ``parameters`` maps gRPC field paths to the HTTP parameters that carried them;
    ``on_storage_error`` is told of storage failures, as the gRPC face tells its metrics.
    """
    if isinstance(error, UnmetWriteConditionError):
        # The first match only for a query condition: a stream's failure keeps its shape.
        first_match = (
            {}
            if error.first_match_sequence_number is None
            else {"first_match_sequence_number": error.first_match_sequence_number}
        )
        return json_response(
            error_body(
                "FAILED_PRECONDITION",
                error.message,
                category=error.category,
                stream=error.stream,
                condition=condition_json(error.condition),
                last_position=error.last_position,
                **first_match,
            ),
            409,
        )
    if isinstance(error, StartBeyondHeadError):
        details = _invalid_input(error, parameters, head=error.head)
        return json_response(error_body("OUT_OF_RANGE", str(error), **details), 400)
    if isinstance(error, InvalidInputError):
        status = 413 if isinstance(error, OverLimitError) else 400
        details = _invalid_input(error, parameters)
        return json_response(error_body("INVALID_ARGUMENT", str(error), **details), status)
    if isinstance(error, ConcurrencyLimitError):
        return json_response(error_body("RESOURCE_EXHAUSTED", str(error)), 429)
    if isinstance(error, GroupNotFoundError):
        return json_response(error_body("NOT_FOUND", str(error)), 404)
    failure = log_failure(error, method=method)
    if failure != "internal" and on_storage_error is not None:
        on_storage_error(failure)
    if failure == "full":
        return json_response(error_body("RESOURCE_EXHAUSTED", STORAGE_FULL_MESSAGE), 507)
    if failure == "unavailable":
        return json_response(error_body("UNAVAILABLE", STORAGE_UNAVAILABLE_MESSAGE), 503)
    return json_response(error_body("INTERNAL", INTERNAL_MESSAGE), 500)
