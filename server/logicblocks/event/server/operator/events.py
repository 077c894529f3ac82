"""``read``, ``tail`` and ``publish``: events out of and into a server, as JSON lines."""

import argparse
import sys
from itertools import islice

from logicblocks.event.store.conditions import WriteCondition, position_is, stream_is_empty
from logicblocks.event.types import identifier

from .connection import Connection, scope
from .events_json import InputError, event_to_json, new_events
from .output import EVENT_COLUMNS, JsonLines, complain, print_table

__all__ = ["publish", "read", "tail"]


def read(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print the events of the log, a category or a stream, oldest first."""
    with connection.adapter() as adapter:
        events = adapter.scan(target=scope(arguments), after_sequence_number=arguments.after)
        if arguments.limit is not None:
            events = islice(events, arguments.limit)
        if arguments.format == "table":
            columns = (*EVENT_COLUMNS, "payload")
            rows = ([event_to_json(event)[column] for column in columns] for event in events)
            print_table(columns, rows)
        else:
            out = JsonLines()
            for event in events:
                out.write_event(event)
    return 0


def tail(arguments: argparse.Namespace, connection: Connection) -> int:
    """Print the events of a scope as they are published, until interrupted (exit 0).

    Without ``--from-end`` the history after ``--after`` is read first with a scan, which
    reports an unreachable server or a refused token at once, where a subscription would
    keep reconnecting; the subscription then starts after the last event printed.
    """
    target = scope(arguments)
    out = JsonLines(flush_each=True)
    with connection.adapter() as adapter:
        after = arguments.after
        if not arguments.from_end:
            for event in adapter.scan(target=target, after_sequence_number=after):
                out.write_event(event)
                after = event.sequence_number
        # A from_end subscription has caught up with the head when subscribe() returns:
        # every event published after the notice below is printed.
        subscription = adapter.subscribe(
            target=target, after_sequence_number=after, from_end=arguments.from_end
        )
        try:
            where = "the end" if arguments.from_end else f"sequence number {after}"
            if not arguments.from_end and after is None:
                where = "the beginning"
            complain(f"following {_describe(target)} from {where}; Ctrl-C stops")
            for event in subscription:
                out.write_event(event)
        except KeyboardInterrupt:
            return 0
        finally:
            subscription.close()
    return 0


def publish(arguments: argparse.Namespace, connection: Connection) -> int:
    """Publish the events on standard input into one stream, atomically; print them stored."""
    events = new_events(sys.stdin)
    if not events:
        raise InputError("stdin: no events to publish (one JSON object per line)")
    conditions: set[WriteCondition] = set()
    if arguments.if_empty:
        conditions.add(stream_is_empty())
    if arguments.if_position is not None:
        conditions.add(position_is(arguments.if_position))
    target = identifier.Stream(category=arguments.category, stream=arguments.stream)
    with connection.adapter() as adapter:
        stored = adapter.save(target=target, events=events, conditions=conditions)
    out = JsonLines()
    for event in stored:
        out.write_event(event)
    return 0


def _describe(target: identifier.Identifier) -> str:
    if isinstance(target, identifier.Stream):
        return f"stream {target.category}/{target.stream}"
    if isinstance(target, identifier.Category):
        return f"category {target.category}"
    return "the log"
