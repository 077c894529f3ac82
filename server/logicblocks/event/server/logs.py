"""Structured logs: one ``key=value`` line per event, no payloads."""

import logging
import sys
from datetime import UTC, datetime

__all__ = ["KeyValueFormatter", "configure_logging"]


class KeyValueFormatter(logging.Formatter):
    """Formats a record as ``time=... level=... logger=... <message>`` on one line.

    Messages are written as ``key=value`` pairs by the server; a traceback, when there is
    one, becomes a single quoted ``trace`` field so a log line is always one event.
    """

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line = (
            f"time={moment.isoformat(timespec='milliseconds')} "
            f"level={record.levelname.lower()} logger={record.name} {record.getMessage()}"
        )
        if record.exc_info:
            trace = self.formatException(record.exc_info)
            line += " trace=" + repr(trace)
        return line


def configure_logging(level: str = "INFO") -> None:
    """Send the process's logs to standard error, one structured line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
