"""The rule every name of the store follows: category, stream, event name, id and tag.

A name is a non-empty string that every backend stores alike: no NUL (PostgreSQL text
cannot hold it), no lone surrogates (not UTF-8 at all), at most ``MAX_NAME_BYTES`` bytes.
"""

from .exceptions import InvalidInputError

__all__ = ["MAX_NAME_BYTES", "require_name"]


def require_name(field: str, value: object) -> None:
    """Raise ``InvalidInputError`` on ``field`` unless ``value`` is a storable name."""
    if not isinstance(value, str) or value == "":
        raise InvalidInputError(field, "must be a non-empty string")
    _require_storable(field, value)


# The longest name (category, stream, event name, id) any backend stores alike: two of
# them plus a position must fit one PostgreSQL index entry (at most 2,704 bytes).
MAX_NAME_BYTES = 1024


def _require_storable(field: str, text: str) -> None:
    """Reject names no backend can store alike: NUL (PostgreSQL text cannot hold it), lone
    surrogates (not UTF-8 at all) and names longer than ``MAX_NAME_BYTES``."""
    if "\x00" in text:
        raise InvalidInputError(field, "must not contain NUL (U+0000)")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(field, "must be valid Unicode (no lone surrogates)") from None
    if size > MAX_NAME_BYTES:
        raise InvalidInputError(field, f"must be at most {MAX_NAME_BYTES} bytes in UTF-8")
