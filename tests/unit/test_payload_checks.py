"""Payload checks: the fast paths give the same verdicts and messages as the full walks."""

import enum
import json
import math
import re
import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logicblocks.event.store import InvalidInputError
from logicblocks.event.store.payloads import (
    _find_non_json,
    _finite_float,
    _reject_constant,
    decode_payload,
    encode_payload,
    validate_payload_text,
)


def reference_validate(field: str, text: str | bytes) -> str:
    """``validate_payload_text`` as it was before its fast path: the strict decoder only."""
    try:
        decoded_text = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise InvalidInputError(field, "must be UTF-8 encoded JSON") from None
    try:
        # A later rule: integers of any length are accepted (their values are not needed).
        value = json.loads(
            decoded_text,
            parse_float=_finite_float,
            parse_int=lambda digits: 0,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as error:
        raise InvalidInputError(field, f"must be valid JSON ({error})") from None
    # A later rule: JSON escapes of lone surrogates are refused, as in process.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    if not isinstance(value, dict):
        raise InvalidInputError(field, "must be a JSON object")
    problem = _find_non_json(value, "payload", 1)
    if problem:
        raise InvalidInputError(field, f"must be JSON: {problem}")
    return decoded_text


def reference_encode(field: str, payload: object) -> str:
    """``encode_payload`` as it was before its fast path: the full walk always."""
    if not isinstance(payload, Mapping):
        raise InvalidInputError(field, "must be a JSON object (a mapping with string keys)")
    problem = _find_non_json(payload, "payload", 1)
    if problem:
        raise InvalidInputError(field, f"must be JSON: {problem}")
    # A later rule: integers of any length are written with every digit.
    with unlimited_integer_digits():
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # A later rule: lone surrogates are refused (no backend stores them alike).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    return text


@contextmanager
def unlimited_integer_digits() -> Iterator[None]:
    """Lift Python's limit on integer digits (process-wide: fine in a test, not in a store)."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def outcome(check: Any, *arguments: object) -> tuple[str, str]:
    try:
        return ("ok", check(*arguments))
    except InvalidInputError as error:
        return (error.field, error.rule)
    except TypeError as error:
        # json.dumps refuses mappings that are not dicts, with either check in front.
        return ("TypeError", str(error))


def nested(depth: int, leaf: object, kind: str = "dict") -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if kind == "dict" else [value]
    return value


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


class ReadOnly(Mapping[str, Any]):
    def __init__(self, **items: Any) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


ODD_PAYLOADS: list[object] = [
    {},
    {"a": (1, 2)},
    {1: "int key"},
    {"a": {None: 1}},
    {"a": {True: 1}},
    {"a": math.nan},
    {"a": [1.0, math.inf]},
    {"a": -math.inf},
    {"a": b"bytes"},
    {"a": {1, 2}},
    {"a": object()},
    {"a": Colour.RED},
    {Name("k"): Name("v")},
    {"a": OrderedDict(b=1)},
    OrderedDict(a=[1, {"b": None}]),
    {"a": ReadOnly(b=1)},
    {"a": [[], {}, "", 0, -0.0, 1e300, 10**40, False, None]},
    {"a": 10**5000 + 1, "b": [-(10**4300)], "c": {"d": 7**9000}},
    [1],
    "text",
    None,
]
for depth in (97, 98, 99, 100, 101, 150):
    for kind in ("dict", "list"):
        leaves: tuple[object, ...] = (1, {}, [], "x")
        for leaf in leaves:
            ODD_PAYLOADS.append({"root": nested(depth, leaf, kind)})


def short_id(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # integers too long for repr()
        return "long-integers"
    # The same in every process (pytest-xdist's workers must collect the same ids): an
    # object's default repr holds its address.
    return re.sub(r" at 0x[0-9a-f]+", "", text)[:40]


@pytest.mark.parametrize("payload", ODD_PAYLOADS, ids=short_id)
def test_encoding_rejects_and_accepts_as_the_full_walk_does(payload: object) -> None:
    assert outcome(encode_payload, "events[0].payload", payload) == outcome(
        reference_encode, "events[0].payload", payload
    )


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
        st.dictionaries(st.integers(), children, max_size=2),
    ),
    max_leaves=15,
)


@given(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4))
def test_any_payload_gets_the_full_walks_verdict(payload: dict[str, Any]) -> None:
    assert outcome(encode_payload, "p", payload) == outcome(reference_encode, "p", payload)


# Where orjson writes the text (plain payloads) it must be json.dumps' own, byte for byte.
EDGE_VALUES: list[object] = [
    0.0,
    -0.0,
    1e-4,
    -1e-4,
    9.999999999999999e-05,
    1e-05,
    -1.5e-07,
    5e-324,
    0.1,
    1 / 3,
    1234.5,
    1e15,
    9999999999999998.0,
    1e16,
    -1e22,
    2.0**53,
    1.7976931348623157e308,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63),
    -(2**63) - 1,
    "".join(chr(code) for code in range(0x800)),
    "\u2028\u2029\ufeff\U0001f600",
    "\ud800",
]


@pytest.mark.parametrize("value", EDGE_VALUES, ids=short_id)
def test_edge_values_are_written_as_json_dumps_writes_them(value: object) -> None:
    payload = {"v": value, "in": [value, {"v": value}]}
    assert outcome(encode_payload, "p", payload) == outcome(reference_encode, "p", payload)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_float_is_written_as_json_dumps_writes_it(value: float) -> None:
    payload = {"f": value, "l": [1, value]}
    assert encode_payload("p", payload) == reference_encode("p", payload)


def deep_text(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


WIRE_TEXTS: list[str | bytes] = [
    b"",
    b"{}",
    b"null",
    b"[]",
    b'"text"',
    b"[1]",
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":1e999}',
    b'{"a":-1e999}',
    b'{"a":NaN,',
    b'{"a":1e999,',
    b'{"a":' + b"9" * 5000 + b"}",
    b'{"a":[-' + b"1" * 20000 + b",1e999]}",
    b'{"a":"\xff\xfe"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":1,"a":2}',
    b'{"a":1',
    b"[" * 5000,
    b'{"\\ud800":1}',
    b'["\\udfff"]',
    b'{"a":NaN,"b":"\\ud800"}',
    b'{"ok":"\\ud83d\\ude00"}',
    b'{ "z": 1e300, "a": [1.50, -0.0], "s": "\\u00e9\\u0000" }',
    '{ "a": [1, 2.5, "é"] }',
    # What the orjson fast path must leave to the strict path, or accept as it does.
    b'\xef\xbb\xbf{"a":1}',  # a byte order mark
    b'{"a":"\t"}',  # a raw control character in a string
    b'{"a":"\x7f\xc2\x85\xe2\x80\xa8"}',  # DEL, NEL and U+2028 raw: JSON allows them
    b'{"a":1.7976931348623157e309}',
    b'{"a":1e-400,"b":5e-324,"c":-0}',
    b'{"a":' + b"1" * 400 + b"}",  # beyond a double's range, but an integer
    b'{"a":18446744073709551616,"b":-9223372036854775809}',
    b'{"a":01}',
    b'{"a":1.}',
    b'{"a":1} x',
    b'{"a":1}\x00',
    b'{"a":"' + b"{[" * 200 + b'"}',  # brackets in a string add no level
    b'{"a":[' + b",".join([b"{}"] * 150) + b"]}",  # many brackets, two levels
    b'{"a":[' + b",".join([b"[]"] * 150) + b'],"b":' + deep_text(100).encode() + b"}",
]
for depth in (98, 99, 100, 101, 102, 2000):
    for leaf in ("1", "{}", "[]", "[1]", "1e999"):
        WIRE_TEXTS.append(deep_text(depth, leaf).encode())


@pytest.mark.parametrize("text", WIRE_TEXTS, ids=lambda value: repr(value)[:40])
def test_wire_payloads_get_the_strict_decoders_verdict_and_message(text: str | bytes) -> None:
    assert outcome(validate_payload_text, "events[0].payload", text) == outcome(
        reference_validate, "events[0].payload", text
    )


@given(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4))
def test_any_wire_payload_gets_the_strict_decoders_verdict(payload: dict[str, Any]) -> None:
    text = json.dumps(payload, allow_nan=True, separators=(",", ":"), default=str)
    assert outcome(validate_payload_text, "p", text) == outcome(reference_validate, "p", text)


# The rule as written in the proto and docs/grpc.md: objects and arrays nest at most 100
# levels, the payload object being level 1; other values add no level.
@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        (deep_text(100, "1"), True),
        (deep_text(99, "[]"), True),
        (deep_text(99, '[1,{"b":"x"}]'), False),
        (deep_text(100, "{}"), False),
        (deep_text(101, "1"), False),
    ],
    ids=["100-objects", "99-objects-and-an-array", "101-with-an-object", "101", "101-objects"],
)
def test_payloads_nest_at_most_100_levels(text: str, accepted: bool) -> None:
    payload = json.loads(text)
    if accepted:
        assert validate_payload_text("p", text) == text
        assert json.loads(encode_payload("p", payload)) == payload
        return
    for check, argument in ((validate_payload_text, text), (encode_payload, payload)):
        with pytest.raises(InvalidInputError, match="at level 101; they nest at most 100"):
            check("p", argument)


def test_integers_of_any_length_round_trip_exactly() -> None:
    huge = -(10**5000) - 3
    digits = "-1" + "0" * 4999 + "3"
    text = encode_payload("p", {"n": huge, "list": [1, huge, True]})
    assert text == f'{{"n":{digits},"list":[1,{digits},true]}}'
    assert decode_payload(text) == {"n": huge, "list": [1, huge, True]}
    assert validate_payload_text("p", text.encode()) == text


def reference_decode(text: str | bytes) -> Any:
    """``decode_payload`` as it was before orjson: the standard decoder, exact integers."""
    with unlimited_integer_digits():
        return json.loads(text)


STORED_TEXTS: list[str] = [
    '{"a":9223372036854775807,"b":-9223372036854775808,"c":18446744073709551615}',
    '{"a":18446744073709551616}',
    '{"a":-9223372036854775809}',
    '{"a":[1,{"b":123456789012345678901234567890}]}',
    '{"s":"1234567890123456789012345","f":0.12345678901234567890123}',
    '{"a":1e300,"b":-0.0,"c":-0,"d":5e-324,"e":2.2250738585072014e-308,"f":1.5}',
    '{"a":1e400}',
    '{"a":NaN,"b":-Infinity}',
    '{"a":"\\ud800","b":"\\ud83d\\ude00","c":"\\u0000é"}',
    '{"a":1,"a":2,"k":{"z":1,"y":2}}',
]


@pytest.mark.parametrize("text", STORED_TEXTS, ids=lambda text: text[:40])
def test_stored_text_decodes_as_the_standard_decoder_reads_it(text: str) -> None:
    for stored in (text, text.encode()):
        assert repr(decode_payload(stored)) == repr(reference_decode(stored))


@given(st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4))
def test_any_stored_payload_decodes_as_the_standard_decoder_reads_it(
    payload: dict[str, Any],
) -> None:
    text = json.dumps(payload, allow_nan=True, separators=(",", ":"), default=list)
    assert repr(decode_payload(text)) == repr(reference_decode(text))
