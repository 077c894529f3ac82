"""Structured logs: one line per event, ``key=value`` text or JSON (``serve --log-format``).

The server logs with messages of the form ``"event=name key=%s other=%d"``. The formatters
read that template with its arguments, so each field keeps its own value: a number stays
a number in JSON, and a value is rendered plainly (a target as ``stream:orders/o-1``, not
a Python repr). A line from another library (psycopg, its pool, gRPC's Python side, Python
warnings) that is not in that form becomes ``event=message message="..."``, so every line
on standard error is one structured event. No payloads are logged.
"""

import enum
import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from logicblocks.event.store.start import After, FromBeginning, FromEnd
from logicblocks.event.types import identifier

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "KeyValueFormatter",
    "configure_logging",
    "plain_value",
]

LOG_FORMATS = ("text", "json")

_KEY = re.compile(r"[a-z][a-z0-9_]*\Z")
# A printf-style conversion as the logging module applies them; group 1 is its type.
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([a-zA-Z%])")
# Text values holding any of these are quoted (as JSON strings), so a line splits back
# into its fields on spaces.
_NEEDS_QUOTES = re.compile(r'[\s"=\\]|[^\x20-\x7e\u00a0-\uffff]')


def plain_value(value: object) -> object:
    """``value`` as a log shows it: numbers, booleans and text as they are, ``None`` as
    null, targets and read starts by name (``log``, ``category:orders``,
    ``stream:orders/o-1``, ``after:41``), anything else as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    match value:
        case identifier.Log():
            return "log"
        case identifier.Category(category=category):
            return f"category:{category}"
        case identifier.Stream(category=category, stream=stream):
            return f"stream:{category}/{stream}"
        case FromBeginning():
            return "beginning"
        case FromEnd():
            return "end"
        case After(sequence_number=sequence_number):
            return f"after:{sequence_number}"
        case enum.Enum():
            return value.name
        case PurePath():
            return str(value)
    return str(value)


def _field_value(
    template: str, conversions: list[re.Match[str]], arguments: tuple[Any, ...]
) -> object:
    """One field's value: its template (``%s``, ``%d``, ``%.1f``, ``%s_failed``, ...) applied
    to its plain arguments, kept typed when the template is exactly one conversion."""
    values = tuple(plain_value(argument) for argument in arguments)
    if len(conversions) == 1 and conversions[0].group(0) == template:
        kind = conversions[0].group(1)
        if kind in "sr":
            # %r too: the server's values are shown plainly, never as Python reprs.
            return values[0]
        text = template % values
        if kind in "di":
            return int(text)
        if kind in "eEfFgG":
            return float(text)
        return text
    return template % tuple(v if isinstance(v, int | float) else str(v) for v in values)


def _fields(record: logging.LogRecord) -> list[tuple[str, object]]:
    """The record's fields, ``event`` first; ``event=message`` for a line in free form."""
    template = record.msg
    arguments = record.args
    if isinstance(template, str) and not isinstance(arguments, Mapping):
        remaining = tuple(arguments or ())
        fields: list[tuple[str, object]] = []
        try:
            for token in template.split(" "):
                key, separator, value_template = token.partition("=")
                if not separator or not _KEY.match(key):
                    raise ValueError(token)
                conversions = [
                    match for match in _CONVERSION.finditer(value_template) if match.group(1) != "%"
                ]
                if len(conversions) > len(remaining):
                    raise ValueError(token)
                taken, remaining = remaining[: len(conversions)], remaining[len(conversions) :]
                fields.append((key, _field_value(value_template, conversions, taken)))
            if not remaining and fields and fields[0][0] == "event":
                return fields
        except (TypeError, ValueError, KeyError):
            pass
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):
        message = str(record.msg)
    # Python's warnings end with a newline of their own.
    return [("event", "message"), ("message", message.rstrip("\n"))]


def _trace(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The record's traceback and stack, if any, as one text."""
    parts = []
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    return "\n".join(parts) or None


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _text(value: object) -> str:
    if value is None:
        return "null"
    text = str(value)
    if not text or _NEEDS_QUOTES.search(text):
        return json.dumps(text, ensure_ascii=False)
    return text


class _ContextFormatter(logging.Formatter):
    """A formatter that ends every line with the process's ``context`` fields (a worker's
    ``worker`` and ``pid`` under ``serve --workers``)."""

    def __init__(self, context: Mapping[str, object] | None = None) -> None:
        super().__init__()
        self.context = dict(context or {})

    def fields(self, record: logging.LogRecord) -> list[tuple[str, object]]:
        """The record's fields, then the context's."""
        return [*_fields(record), *self.context.items()]


class KeyValueFormatter(_ContextFormatter):
    """Formats a record as ``time=... level=... logger=... event=... key=value ...``.

    A value holding spaces, quotes or ``=`` is written as a JSON string; a traceback,
    when there is one, becomes a single quoted ``trace`` field so a line is one event.
    """

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"time={_time(record)}", f"level={record.levelname.lower()}"]
        parts.append(f"logger={_text(record.name)}")
        parts.extend(f"{key}={_text(value)}" for key, value in self.fields(record))
        trace = _trace(self, record)
        if trace is not None:
            parts.append(f"trace={_text(trace)}")
        return " ".join(parts)


class JsonFormatter(_ContextFormatter):
    """Formats a record as one JSON object: ``time``, ``level``, ``logger``, ``event``, the
    event's fields with their types, and ``trace`` when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        for key, value in self.fields(record):
            # A field named like one of the line's own keys keeps both.
            line[key if key not in line else f"field_{key}"] = value
        trace = _trace(self, record)
        if trace is not None:
            line["trace"] = trace
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(
    level: str = "INFO", log_format: str = "text", context: Mapping[str, object] | None = None
) -> None:
    """Send the process's logs, other libraries' and Python warnings included, to
    standard error, one structured line per event, as ``text`` or ``json``; ``context``
    (field to value) ends every line."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter if log_format == "json" else KeyValueFormatter
    handler.setFormatter(formatter(context))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)
