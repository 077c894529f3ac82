"""Where a read over gRPC begins: after a sequence number, or at a time (``since``).

In process an engine turns ``since`` into the sequence number it stands for before
reading; over gRPC the server does, so the clients carry the time itself to the first
request and resume after the last event they saw, like any read. The arguments are
checked here with the in-process rules and messages.
"""

from dataclasses import dataclass
from datetime import datetime

from logicblocks.event.store.adapters.base import Scannable
from logicblocks.event.store.exceptions import InvalidInputError
from logicblocks.event.store.start import ReadStart, read_start, scan_after
from logicblocks.event.v1 import event_store_pb2

from .wire import set_timestamp, target_to_wire

__all__ = ["Since", "scan_request", "scan_start", "subscribe_start"]


@dataclass(frozen=True, slots=True)
class Since:
    """From the first event of the log observed at or after ``at``."""

    at: datetime


def _since(since: object) -> Since:
    if not isinstance(since, datetime) or since.utcoffset() is None:
        raise InvalidInputError("since", "must be a timezone-aware datetime")
    return Since(since)


def scan_start(after_sequence_number: object, since: object) -> int | Since:
    """The start of a scan: the sequence number it reads after, or ``Since``."""
    if since is None:
        return scan_after(after_sequence_number)
    if after_sequence_number is not None:
        raise InvalidInputError("since", "cannot be given together with after_sequence_number")
    return _since(since)


def subscribe_start(
    after_sequence_number: object, from_end: bool, since: object
) -> ReadStart | Since:
    """The start of a subscription, refusing contradictory arguments by name."""
    if since is None:
        return read_start(after_sequence_number=after_sequence_number, from_end=from_end)
    if after_sequence_number is not None:
        raise InvalidInputError("since", "cannot be given together with after_sequence_number")
    if from_end:
        raise InvalidInputError("since", "cannot be given together with from_end=True")
    return _since(since)


def scan_request(target: Scannable, start: int | Since) -> event_store_pb2.ScanRequest:
    """The ``Scan`` request of ``target`` from ``start``."""
    request = event_store_pb2.ScanRequest(target=target_to_wire(target))
    if isinstance(start, Since):
        set_timestamp(request.since, start.at)
    else:
        request.after_sequence_number = start
    return request
