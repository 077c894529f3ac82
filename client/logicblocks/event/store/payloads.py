"""Payloads as JSON text: the rules a payload must meet, and its encoding and decoding.

A payload is a JSON object that round-trips exactly: string keys, no NaN or infinities,
objects and arrays nested at most ``_MAX_DEPTH`` levels, integers of any length, valid
Unicode. The in-process path encodes mappings here (``encode_payload``); the server checks
the text it receives (``validate_payload_text``) and stores it as sent; reads decode stored
text (``decode_payload``). Every backend stores the text made or checked here.
"""

import json
import json.encoder
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson

from logicblocks.event.types.json_text import dumps

from .exceptions import InvalidInputError

__all__ = ["decode_payload", "encode_payload", "validate_payload_text"]

# Objects and arrays nest at most this many levels, the payload object being the first.
# Values that are not objects or arrays add no level.
_MAX_DEPTH = 100


def _find_non_json(value: Any, path: str, depth: int) -> str | None:
    """Where a value stops being exactly representable as JSON, for the error message.

    ``depth`` is the level ``value`` is at if it is an object or array.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value}, which JSON cannot hold"
    if isinstance(value, (Mapping, list)) and depth > _MAX_DEPTH:
        return (
            f"{path} is an object or array at level {depth}; "
            f"they nest at most {_MAX_DEPTH} levels, the payload being level 1"
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has key {key!r}, which is not a string"
            found = _find_non_json(item, f"{path}.{key}", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_non_json(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
        return None
    return f"{path} is a {type(value).__name__}, which is not a JSON value"


# What _plainly_json finds in a dict or list (ordered: a whole is the least of its parts).
_NOT_PLAIN = 0  # something only _find_non_json can judge
_PLAIN = 1  # only the types JSON maps one to one
_PLAIN_FOR_ORJSON = 2  # and no float orjson writes otherwise than json.dumps does
# orjson writes floats as Python's repr() does (shortest round trip, the same exponent
# forms) except below this magnitude, where it writes 0.00001 for 1e-05 and 1e-7 for
# 1e-07. tests/unit/test_payload_checks.py holds the two to it.
_SMALLEST_FLOAT_FOR_ORJSON = 1e-4


def _plainly_json(value: dict[Any, Any] | list[Any], depth: int) -> int:
    """Whether a dict or list is made only of the types JSON maps one to one.

    The fast check in front of ``_find_non_json``: exact types only (dicts with str keys,
    lists, str, int, bool, None, finite floats), no paths built. ``_PLAIN`` or better
    means ``_find_non_json`` would find nothing; ``_NOT_PLAIN`` (false) means "ask it",
    which gives the answer and the message (it also accepts other mappings and subclasses
    this check does not).
    """
    if depth > _MAX_DEPTH:
        return _NOT_PLAIN
    if type(value) is dict:
        for key in value:
            if type(key) is not str:
                return _NOT_PLAIN
        items: Iterable[Any] = value.values()
    else:
        items = value
    verdict = _PLAIN_FOR_ORJSON
    for item in items:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is float:
            if not math.isfinite(item):
                return _NOT_PLAIN
            if item and abs(item) < _SMALLEST_FLOAT_FOR_ORJSON:
                verdict = _PLAIN
        elif kind is dict or kind is list:
            inner = _plainly_json(item, depth + 1)
            if inner == _NOT_PLAIN:
                return _NOT_PLAIN
            if inner == _PLAIN:
                verdict = _PLAIN
        else:
            return _NOT_PLAIN
    return verdict


def _compact_json(value: Any) -> str:
    """``value`` as compact JSON text: the one encoding of every payload the store makes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _checked_json_encoder() -> Callable[[Any], str]:
    """``_compact_json`` for values ``_plainly_json`` has passed, made once.

    ``json.dumps`` with arguments builds an encoder on every call, which cost more than the
    encoding of a small payload. This one is built once, by the same C function with the
    same arguments, so the text is the same; it skips the check for cycles, which values
    nested at most ``_MAX_DEPTH`` levels cannot have.
    """
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # an interpreter without the C accelerator
        return _compact_json
    encode = make_encoder(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    return lambda value: "".join(encode(value, 0))


_encode_checked = _checked_json_encoder()


def encode_payload(field: str, payload: object) -> str:
    """Encode a payload as compact JSON text, rejecting anything that would not round-trip."""
    if not isinstance(payload, Mapping):
        raise InvalidInputError(field, "must be a JSON object (a mapping with string keys)")
    plain = _plainly_json(payload, 1) if type(payload) is dict else _NOT_PLAIN
    if plain == _NOT_PLAIN:
        problem = _find_non_json(payload, "payload", 1)
        if problem:
            raise InvalidInputError(field, f"must be JSON: {problem}")
    elif plain == _PLAIN_FOR_ORJSON:
        # The same text as json.dumps, several times faster. orjson refuses integers
        # beyond 64 bits and lone surrogates: the standard encoder below takes those.
        try:
            return orjson.dumps(payload).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    try:
        text = _encode_checked(payload) if plain else _compact_json(payload)
    except ValueError:
        # The checks above leave one cause: an integer longer than Python will turn into
        # text by itself (sys.get_int_max_str_digits()).
        text = dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        # NUL is escaped by JSON (\u0000); a lone surrogate is not, and is no UTF-8.
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    return text


def _exact_int(text: str) -> int:
    """A JSON integer of any length (``int()`` refuses very long ones by default)."""
    try:
        return int(text)
    except ValueError:
        return int(Decimal(text))


def _any_int(text: str) -> int:
    """Stands in for a JSON integer where only the shape of a payload is checked.

    Python refuses to convert long digit strings (the conversion takes quadratic time);
    a check needs no value, so none is computed.
    """
    return 0


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def validate_payload_text(field: str, text: str | bytes) -> str:
    """Check that wire bytes hold one JSON object; return it as text, unchanged."""
    try:
        decoded_text = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise InvalidInputError(field, "must be UTF-8 encoded JSON") from None
    # The fast path: orjson refuses all JSON refuses, and more (NaN, infinities and
    # numbers that overflow to them, lone surrogates, deep nesting), so an object it
    # accepts is a payload unless it nests too deep, which takes more brackets than
    # _MAX_DEPTH. It decodes integers beyond 64 bits as floats, which is no matter: the
    # text is what is stored. Any doubt takes the strict path below, which gives the
    # verdict and the message.
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if type(value) is dict and (
            decoded_text.count("{") + decoded_text.count("[") <= _MAX_DEPTH
            or _plainly_json(value, 1)
        ):
            return decoded_text
    try:
        value = json.loads(
            decoded_text,
            parse_float=_finite_float,
            parse_int=_any_int,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as error:
        raise InvalidInputError(field, f"must be valid JSON ({error})") from None
    _require_no_lone_surrogates(field, decoded_text, value)
    if not isinstance(value, dict):
        raise InvalidInputError(field, "must be a JSON object")
    problem = _find_non_json(value, "payload", 1)
    if problem:
        raise InvalidInputError(field, f"must be JSON: {problem}")
    return decoded_text


def _require_no_lone_surrogates(field: str, text: str, value: object) -> None:
    """Refuse JSON whose escapes decode to a lone surrogate (such as ``"\\ud800"``).

    The text is valid UTF-8, but the string it decodes to is not Unicode, and the
    in-process path refuses such payloads; refuse them here alike. Only text with a
    surrogate escape can hold one, so other text costs a substring search.
    """
    if "\\ud" not in text and "\\uD" not in text:
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None


# A run of this many digits may be an integer beyond 64 bits, which orjson would read as a
# float: such text goes to the standard decoder (other runs, in strings or fractions, only
# cost it the slower decoder).
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGIT_BYTES = re.compile(rb"[0-9]{19}")


def decode_payload(text: str | bytes) -> dict[str, Any]:
    """Decode stored JSON text into the payload mapping.

    orjson first, several times faster, where it gives what the standard decoder gives: it
    reads floats to the same values, and refuses (leaving them to the standard decoder)
    what the store would not hold now but older text might (NaN, numbers beyond a
    double, escapes of lone surrogates).
    """
    if isinstance(text, bytes):
        long_digits = _LONG_DIGIT_BYTES.search(text) is not None
    else:
        long_digits = _LONG_DIGITS.search(text) is not None
    if not long_digits:
        try:
            decoded: dict[str, Any] = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            return decoded
    try:
        value: dict[str, Any] = json.loads(text)
    except ValueError:
        # Stored text is valid JSON: only an integer too long for int() lands here.
        value = json.loads(text, parse_int=_exact_int)
    return value
