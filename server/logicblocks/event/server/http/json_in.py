"""A publish's JSON body into the gRPC ``PublishRequest`` it means.

The HTTP face checks a publish by turning it into the protobuf request and handing that
to the checks gRPC uses (``arguments.publish_arguments``): the rules, and the field paths
in their errors (``events[0].payload``, ``conditions[1].position_is.position``), are then
the same on both faces by construction. What JSON can say and protobuf cannot (a name
that is a number, an unknown key) is refused here, named by the same kind of path.

Each payload is kept as the exact text the client sent: the body is walked with the
standard library's JSON scanner, and for each ``events[i].payload`` only the span of its
text is taken, never a decoded value (which would lose number forms and big integers).
``events[i].metadata`` is taken the same way; ``events[i].tags`` is an array of strings.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from logicblocks.event.store import InvalidInputError
from logicblocks.event.v1 import conditions_pb2, event_store_pb2, events_pb2, targets_pb2

__all__ = ["publish_request"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_EVENT_KEYS = ("id", "name", "payload", "observed_at", "occurred_at", "tags", "metadata")
_CONDITION_KINDS = ("position_is", "stream_is_empty")
_INT64_MAX = 2**63 - 1


def _scanner(decoder: json.JSONDecoder) -> Callable[[str, int], tuple[Any, int]]:
    scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(  # type: ignore[attr-defined]
        decoder
    )
    return scan


# Values other than payloads, decoded.
_scan_value = _scanner(json.JSONDecoder())
# Payloads, only measured: numbers are not converted (digits beyond int()'s limit pass),
# and NaN is let through here so that the payload rules refuse it in their own words.
_skip_value = _scanner(
    json.JSONDecoder(
        parse_int=lambda text: 0, parse_float=lambda text: 0.0, parse_constant=lambda text: None
    )
)


class _Body:
    """A cursor over the body's text."""

    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def skip_space(self) -> None:
        match = _WHITESPACE.match(self.text, self.at)
        assert match is not None  # the pattern matches the empty string
        self.at = match.end()

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.at : self.at + 1]

    def expect(self, character: str) -> None:
        if self.peek() != character:
            raise self.malformed(f"expected {character!r}")
        self.at += 1

    def malformed(self, what: str) -> InvalidInputError:
        line = self.text.count("\n", 0, self.at) + 1
        column = self.at - self.text.rfind("\n", 0, self.at)
        return InvalidInputError(
            "request", f"must be a JSON object ({what}: line {line} column {column})"
        )

    def value(self, *, measure_only: bool = False) -> tuple[Any, int]:
        """The next value and where its text starts."""
        self.skip_space()
        start = self.at
        try:
            value, self.at = (_skip_value if measure_only else _scan_value)(self.text, start)
        except StopIteration:
            raise self.malformed("expected a value") from None
        except RecursionError:
            raise self.malformed("nested too deeply") from None
        except ValueError as error:
            # An integer too long for int(), or a broken string escape.
            raise self.malformed(str(error).split(":")[0]) from None
        return value, start

    def members(self, field: str = "") -> Any:
        """The keys of the object starting here (at ``field``), one at a time; the cursor
        is then on the key's value, which the caller must read."""
        self.expect("{")
        if self.peek() == "}":
            self.at += 1
            return
        seen: set[str] = set()
        while True:
            if self.peek() != '"':
                raise self.malformed("expected a key")
            try:
                key, self.at = _scan_value(self.text, self.at)
            except (ValueError, StopIteration):
                raise self.malformed("expected a key") from None
            if key in seen:
                # JSON leaves a repeated key's meaning open: refuse rather than guess.
                raise InvalidInputError(f"{field}.{key}" if field else key, "must be given once")
            seen.add(key)
            self.expect(":")
            yield key
            if self.peek() == ",":
                self.at += 1
                continue
            self.expect("}")
            return

    def elements(self) -> Any:
        """Each element of the array starting here; the caller reads each one."""
        self.expect("[")
        if self.peek() == "]":
            self.at += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            if self.peek() == ",":
                self.at += 1
                continue
            self.expect("]")
            return


def publish_request(category: str, stream: str, body: str) -> event_store_pb2.PublishRequest:
    """The request a publish body means; raises ``InvalidInputError`` naming the field
    for what the protobuf request cannot hold, ``request`` for a body that is no JSON
    object."""
    request = event_store_pb2.PublishRequest(
        target=targets_pb2.Stream(category=category, stream=stream)
    )
    reader = _Body(body)
    if reader.peek() != "{":
        raise reader.malformed("expected an object")
    for key in reader.members():
        if key == "events":
            if reader.peek() != "[":
                reader.value()
                raise InvalidInputError("events", "must be an array of events")
            for index in reader.elements():
                _event(reader, f"events[{index}]", request.events.add())
        elif key == "conditions":
            conditions, _ = reader.value()
            _conditions(conditions, request)
        else:
            raise InvalidInputError(key, "is not a field of a publish (events, conditions)")
    reader.skip_space()
    if reader.at != len(body):
        raise reader.malformed("extra data after the object")
    return request


def _event(reader: _Body, field: str, event: events_pb2.NewEvent) -> None:
    if reader.peek() != "{":
        reader.value()
        raise InvalidInputError(field, "must be an object")
    has_payload = False
    for key in reader.members(field):
        path = f"{field}.{key}"
        if key in ("payload", "metadata"):
            measured, start = reader.value(measure_only=True)
            if key == "metadata" and measured is None:
                continue  # null: none, as for the other optional fields
            text = reader.text[start : reader.at].encode("utf-8", "surrogatepass")
            setattr(event, key, text)
            has_payload = has_payload or key == "payload"
            continue
        value, _ = reader.value()
        if key not in _EVENT_KEYS:
            raise InvalidInputError(path, f"is not a field of an event ({', '.join(_EVENT_KEYS)})")
        if value is None:
            continue
        if key in ("name", "id"):
            if not isinstance(value, str):
                raise InvalidInputError(path, "must be a non-empty string")
            try:
                setattr(event, key, value)
            except (UnicodeError, ValueError):
                raise _not_unicode(path) from None
        elif key == "tags":
            _tags(path, value, event)
        else:
            _timestamp(path, value, getattr(event, key))
    if not has_payload:
        raise InvalidInputError(f"{field}.payload", "must be a JSON object")


def _not_unicode(path: str) -> InvalidInputError:
    # An escape such as \ud800 decodes to no character; protobuf strings (and every
    # store) hold only valid Unicode.
    return InvalidInputError(path, "must be valid Unicode (no lone surrogates)")


def _tags(field: str, value: object, event: events_pb2.NewEvent) -> None:
    if not isinstance(value, list):
        raise InvalidInputError(field, "must be an array of strings")
    for index, tag in enumerate(value):
        path = f"{field}[{index}]"
        if not isinstance(tag, str):
            raise InvalidInputError(path, "must be a non-empty string")
        try:
            event.tags.append(tag)
        except (UnicodeError, ValueError):
            raise _not_unicode(path) from None


def _timestamp(field: str, value: object, timestamp: Timestamp) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        timestamp.FromJsonString(value)
    except ValueError:
        raise InvalidInputError(
            field, "must be an RFC 3339 timestamp, such as 2026-12-01T06:20:00.123456Z"
        ) from None


def _conditions(conditions: object, request: event_store_pb2.PublishRequest) -> None:
    if conditions is None:
        return
    if not isinstance(conditions, list):
        raise InvalidInputError("conditions", "must be an array of conditions")
    for index, condition in enumerate(conditions):
        field = f"conditions[{index}]"
        wire = request.conditions.add()
        if not isinstance(condition, dict):
            raise InvalidInputError(field, "must be an object")
        if len(condition) > 1 or any(kind not in _CONDITION_KINDS for kind in condition):
            raise InvalidInputError(field, "must be set to one of position_is or stream_is_empty")
        if "stream_is_empty" in condition:
            if condition["stream_is_empty"] != {}:
                raise InvalidInputError(f"{field}.stream_is_empty", "must be {}")
            wire.stream_is_empty.SetInParent()
        elif "position_is" in condition:
            _position_is(f"{field}.position_is", condition["position_is"], wire)
        # An empty object is left unset: the shared checks name it as gRPC's does.


def _position_is(field: str, value: object, wire: conditions_pb2.WriteCondition) -> None:
    if not isinstance(value, dict) or set(value) != {"position"}:
        raise InvalidInputError(field, 'must be {"position": <integer>}')
    position = value["position"]
    if not isinstance(position, int) or isinstance(position, bool) or position > _INT64_MAX:
        raise InvalidInputError(f"{field}.position", "must be an integer >= 0")
    # Negative positions reach the shared checks, which refuse them as over gRPC.
    wire.position_is.position = max(position, -1)
