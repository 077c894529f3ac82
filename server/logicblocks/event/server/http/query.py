"""Query parameters into the values the shared checks take.

A parameter that is not what it should be (``after=abc``) is handed to the shared check
as the text it is, so it is refused with the same field and rule as any other bad value
(``after_sequence_number: must be an integer >= -1``), in one place.
"""

import math
import re
from collections.abc import Mapping
from urllib.parse import unquote

from aiohttp import web

from logicblocks.event.store import InvalidInputError
from logicblocks.event.v1 import targets_pb2

__all__ = ["TARGET_PARAMETERS", "flag", "integer", "number", "path_name", "target"]

_INTEGER = re.compile(r"-?[0-9]{1,30}")

# The gRPC field paths of a read target, by the query parameter that gives them.
TARGET_PARAMETERS = {
    "target.category.category": "category",
    "target.stream.category": "category",
    "target.stream.stream": "stream",
}


def integer(text: str | None) -> int | str | None:
    """``text`` as an integer when it is one, else as it is (``None`` when absent)."""
    if text is not None and _INTEGER.fullmatch(text):
        return int(text)
    return text


def number(text: str | None) -> float | str | None:
    """``text`` as a finite number when it is one, else as it is."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def flag(field: str, text: str | None) -> bool:
    """A yes-or-no parameter: ``true``/``1`` or ``false``/``0`` (absent: false)."""
    if text is None or text.lower() in ("false", "0", ""):
        return False
    if text.lower() in ("true", "1"):
        return True
    raise InvalidInputError(field, "must be true or false")


def path_name(request: web.Request, name: str, field: str) -> str:
    """The URL path segment ``name`` of the route, percent-decoded as UTF-8.

    aiohttp leaves escapes that are not UTF-8 (``%FF``) as they are, which would make a
    name of the escape's own characters: refused instead, naming ``field``.
    """
    resource = request.match_info.route.resource
    assert resource is not None
    template = resource.canonical.split("/")
    segment = request.raw_path.split("?", 1)[0].split("/")[template.index(f"{{{name}}}")]
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInputError(field, "must be UTF-8, percent-encoded in the path") from None


def target(query: Mapping[str, str]) -> targets_pb2.Target:
    """The read target the parameters ``category`` and ``stream`` name, as gRPC's request
    holds it: neither is the log, a category alone the category, both the stream."""
    category, stream = query.get("category"), query.get("stream")
    if stream is not None:
        return targets_pb2.Target(stream=targets_pb2.Stream(category=category or "", stream=stream))
    if category is not None:
        return targets_pb2.Target(category=targets_pb2.Category(category=category))
    return targets_pb2.Target(log=targets_pb2.Log())
