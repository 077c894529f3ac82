"""The client subcommands of ``logicblocks-event-store``: their arguments, and how a
failure becomes one line on standard error and a non-zero exit status.

Exit status: 0 on success (``tail`` also when interrupted with Ctrl-C), 1 when the server
or the connection failed the command (unreachable, a refused token, a failed condition),
2 for bad arguments or input (argparse's own status for usage errors).
"""

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logicblocks.event.store.exceptions import (
    ConfigurationError,
    EventStoreError,
    InvalidInputError,
    UnmetWriteConditionError,
)

from .connection import Connection, add_connection_options, add_target_options
from .events import publish, read, tail
from .events_json import InputError
from .groups import drop, groups, parked, replay
from .listing import categories, info, streams
from .output import complain
from .transfer import export, import_file

__all__ = ["add_operator_commands", "run_operator_command"]

Command = Callable[[argparse.Namespace, Connection], int]
# argparse keeps the type of add_subparsers' result private.
Subcommands = Any


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _sequence_number(text: str) -> int:
    value = int(text)
    if value < -1:
        raise argparse.ArgumentTypeError("must be at least -1")
    return value


def _add(
    commands: Subcommands, name: str, command: Command, help_text: str, *, table: bool = False
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    parser.set_defaults(operator=command)
    add_connection_options(parser)
    if table:
        parser.add_argument(
            "--format",
            choices=("json", "table"),
            default="json",
            help="JSON lines (default) or an aligned table",
        )
    return parser


def add_operator_commands(commands: Subcommands) -> None:
    """Add the client subcommands to the command's subparsers."""
    _add(commands, "categories", categories, "list the categories", table=True)
    listed = _add(commands, "streams", streams, "list the streams of a category", table=True)
    listed.add_argument("category")
    listed.add_argument("--prefix", help="only streams whose name starts with this")
    _add(commands, "info", info, "the server's version, storage, head and counts", table=True)

    _add(commands, "groups", groups, "list consumer groups with their lag", table=True)
    lister = _add(commands, "parked", parked, "list a consumer group's parked events", table=True)
    lister.add_argument("group")
    for name, command, help_text in (
        ("replay", replay, "deliver a consumer group's parked events again"),
        ("drop", drop, "forget a consumer group's parked events for good"),
    ):
        chooser = _add(commands, name, command, help_text)
        chooser.add_argument("group")
        chooser.add_argument(
            "--sequence-number",
            type=_non_negative,
            action="append",
            help="only this parked event (repeat for several; default: all)",
        )

    reader = _add(commands, "read", read, "print events, oldest first", table=True)
    add_target_options(reader)
    reader.add_argument(
        "--after", type=_sequence_number, help="only events after this sequence number"
    )
    reader.add_argument("--limit", type=_non_negative, help="at most this many events")

    follower = _add(commands, "tail", tail, "print events as they are published, until Ctrl-C")
    add_target_options(follower)
    start = follower.add_mutually_exclusive_group()
    start.add_argument("--from-end", action="store_true", help="only events published from now")
    start.add_argument(
        "--after", type=_sequence_number, help="the events after this sequence number, then on"
    )

    publisher = _add(
        commands,
        "publish",
        publish,
        'publish JSON lines from stdin ({"name": ..., "payload": {...}}) into one stream',
    )
    publisher.add_argument("--category", required=True)
    publisher.add_argument("--stream", required=True)
    condition = publisher.add_mutually_exclusive_group()
    condition.add_argument(
        "--if-empty", action="store_true", help="only if the stream has no events"
    )
    condition.add_argument(
        "--if-position",
        type=_non_negative,
        help="only if the stream's last event is at this position",
    )

    exporter = _add(commands, "export", export, "write the log as JSON lines, every field")
    exporter.add_argument(
        "--after", type=_sequence_number, help="only events after this sequence number"
    )
    exporter.add_argument("--output", type=Path, help="file to write (default: stdout)")

    importer = _add(
        commands, "import", import_file, "publish an export into a store; safe to run again"
    )
    importer.add_argument("file", type=Path, help="a file written by export")


def _usage_error(arguments: argparse.Namespace) -> str | None:
    if getattr(arguments, "stream", None) is not None and arguments.category is None:
        return "--stream needs --category"
    return None


def _condition_message(error: UnmetWriteConditionError) -> str:
    where = f"stream {error.category}/{error.stream}: " if error.stream is not None else ""
    found = (
        ""
        if error.category is None
        else "the stream is empty"
        if error.last_position is None
        else f"its last position is {error.last_position}"
    )
    return f"write condition failed: {where}{error}" + (f" ({found})" if found else "")


def run_operator_command(arguments: argparse.Namespace) -> int:
    """Run the client subcommand ``arguments`` names; its exit status."""
    problem = _usage_error(arguments)
    if problem is not None:
        complain(problem)
        return 2
    connection = Connection.from_arguments(arguments)
    command: Command = arguments.operator
    try:
        return command(arguments, connection)
    except (InputError, InvalidInputError, ConfigurationError) as error:
        complain(str(error))
        return 2
    except UnmetWriteConditionError as error:
        complain(_condition_message(error))
        return 1
    except EventStoreError as error:
        complain(f"{connection.target}: {error}")
        return 1
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            # The reader downstream (head, less) has gone: not a failure of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        complain(f"{error.filename}: {error.strerror}" if error.filename else str(error))
        return 1
    except KeyboardInterrupt:
        complain("interrupted")
        return 130
