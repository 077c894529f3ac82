"""``export`` and ``import``: the whole log to JSON lines and back into another store.

An import keeps every event's id, name, payload, timestamps, category and stream, and the
log's order: it publishes the file's events in the file's order, the consecutive events of
one stream together. It can be run again, after an interruption or by mistake, without
storing anything twice, because the batches are cut from the file alone (the same file
always gives the same batches) and the server answers a publish whose ids are all stored
in the stream, as the same events, with the stored events instead of writing them
(``records.resolve_retry``). The file is checked whole before anything is published, so a
bad line stores nothing.
"""

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.exceptions import InvalidInputError
from logicblocks.event.types import NewEvent, StoredEvent, identifier

from .connection import Connection
from .events_json import ExportedEvent, exported_events
from .output import JsonLines, complain

if TYPE_CHECKING:
    from .progress import Bar

__all__ = ["Batch", "batches", "export", "import_file"]

# The server's rule for a publish some of whose events are stored and some not.
_PARTLY_STORED = "while other events of the publish are not"

# Well inside the server's default limits (10,000 events, 16 MiB a request), so an export
# imports into a server with default settings. Part of what makes batches repeatable:
# changing them changes where a re-run cuts the file.
_BATCH_EVENTS = 500
_BATCH_BYTES = 4 * 1024 * 1024


@dataclass
class Batch:
    """Consecutive events of one stream of an export, published together."""

    target: identifier.Stream
    events: list[NewEvent] = field(default_factory=list)
    size: int = 0


def batches(events: Iterable[ExportedEvent]) -> Iterator[Batch]:
    """The publishes that store ``events`` in order: a new batch when the stream changes
    or the batch is full."""
    batch: Batch | None = None
    for exported in events:
        target = identifier.Stream(category=exported.category, stream=exported.stream)
        if batch is not None and (
            batch.target != target
            or len(batch.events) >= _BATCH_EVENTS
            or batch.size + exported.line_bytes > _BATCH_BYTES
        ):
            yield batch
            batch = None
        if batch is None:
            batch = Batch(target)
        batch.events.append(exported.event)
        batch.size += exported.line_bytes
    if batch is not None:
        yield batch


@contextmanager
def _progress_bar(description: str, total: float | None, unit: str) -> Iterator["Bar"]:
    # rich (under .progress) takes a quarter of a second to import: only export and import
    # pay for it, not every start of the command.
    from .progress import progress_bar

    with progress_bar(description, total, unit) as bar:
        yield bar


def log_head(adapter: GrpcStorageAdapter) -> int:
    """The store's head sequence number now (-1 when empty).

    A subscription from the end has caught up when it is made, and its checkpoint is then
    the head the server reported.
    """
    with adapter.subscribe(target=identifier.Log(), from_end=True) as subscription:
        return subscription.checkpoint


def export(arguments: argparse.Namespace, connection: Connection) -> int:
    """Write the log (after ``--after``) as JSON lines, every field of every event."""
    with ExitStack() as stack:
        out: TextIO = (
            stack.enter_context(arguments.output.open("w", encoding="utf-8"))
            if arguments.output is not None
            else sys.stdout
        )
        adapter = stack.enter_context(connection.adapter())
        after = -1 if arguments.after is None else arguments.after
        # Events published during the export are exported too: the total is a guide.
        total = max(log_head(adapter) - after, 0)
        writer = JsonLines(out)
        count = 0
        with _progress_bar("exporting", total, "events") as bar:
            for event in adapter.scan(
                target=identifier.Log(), after_sequence_number=arguments.after
            ):
                writer.write_event(event)
                count += 1
                bar.advance()
    if arguments.output is not None:
        complain(f"exported {count} events to {arguments.output}")
    return 0


def _checked(path: Path) -> int:
    """Read the whole file once, refusing it at its first bad line; its event count."""
    count = 0
    with (
        path.open(encoding="utf-8") as lines,
        _progress_bar("checking", path.stat().st_size, "bytes") as bar,
    ):
        for exported in exported_events(lines, str(path)):
            count += 1
            bar.advance(exported.line_bytes)
    return count


def _publish(adapter: GrpcStorageAdapter, batch: Batch) -> Sequence[StoredEvent]:
    """Store ``batch``, or what of it an earlier import did not.

    The server refuses a publish only partly stored. That happens when an earlier import
    read another cut of the same events (an export taken earlier, which ended inside this
    batch): the events of the batch already in the stream are left out, if they are its
    beginning, and the rest is published.
    """
    try:
        return adapter.save(target=batch.target, events=batch.events)
    except InvalidInputError as error:
        if _PARTLY_STORED not in error.rule:
            raise
        refusal = error
    wanted = {event.id for event in batch.events}
    present = {event.id for event in adapter.scan(target=batch.target) if event.id in wanted}
    stored_first = len(present)
    if any(event.id not in present for event in batch.events[:stored_first]):
        raise refusal
    return adapter.save(target=batch.target, events=batch.events[stored_first:])


def import_file(arguments: argparse.Namespace, connection: Connection) -> int:
    """Publish an export into the server, in the log's order, storing nothing twice."""
    path: Path = arguments.file
    total = _checked(path)
    added = 0
    with (
        connection.adapter() as adapter,
        path.open(encoding="utf-8") as lines,
        _progress_bar("importing", total, "events") as bar,
    ):
        head_before = log_head(adapter)
        for batch in batches(exported_events(lines, str(path))):
            stored = _publish(adapter, batch)
            # A batch stored by an earlier run comes back with its old sequence numbers.
            added += sum(1 for event in stored if event.sequence_number > head_before)
            bar.advance(len(batch.events))
    complain(f"imported {path}: {total} events, {added} added, {total - added} already stored")
    return 0
