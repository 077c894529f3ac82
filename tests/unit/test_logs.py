"""The log formatters' rules, line by line, and the command's gRPC core settings."""

import json
import logging
import sys

import pytest

from logicblocks.event.server.command import quiet_grpc_core
from logicblocks.event.server.logs import JsonFormatter, KeyValueFormatter
from logicblocks.event.store.start import FROM_END, After
from logicblocks.event.types import identifier


def record(
    message: str, *arguments: object, name: str = "logicblocks.event.server"
) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, arguments, None)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (identifier.Log(), "log"),
        (identifier.Category(category="orders"), "category:orders"),
        (identifier.Stream(category="orders", stream="o-1"), "stream:orders/o-1"),
        (After(sequence_number=41), "after:41"),
        (FROM_END, "end"),
    ],
)
def test_targets_and_starts_are_shown_by_name(value: object, shown: str) -> None:
    line = KeyValueFormatter().format(record("event=subscribed target=%s", value))
    assert line.endswith(f" event=subscribed target={shown}")
    assert (
        json.loads(JsonFormatter().format(record("event=subscribed target=%r", value)))["target"]
        == shown
    )


def test_values_keep_their_types_in_json_and_are_quoted_in_text_when_they_need_it() -> None:
    template = "event=published category=%s events=%d ms=%.1f kind=%s_failed tls=%s"
    arguments = ("my orders", 3, 1.25, "scan", False)
    fields = json.loads(JsonFormatter().format(record(template, *arguments)))
    assert {key: fields[key] for key in ("event", "category", "events", "ms", "kind", "tls")} == {
        "event": "published",
        "category": "my orders",
        "events": 3,
        "ms": 1.2,
        "kind": "scan_failed",
        "tls": False,
    }
    text = KeyValueFormatter().format(record(template, *arguments))
    assert text.endswith(
        ' event=published category="my orders" events=3 ms=1.2 kind=scan_failed tls=False'
    )


def test_another_librarys_free_text_becomes_one_message_field() -> None:
    free = record("error connecting in %r: %s", "pool-1", 'refused "x"\nagain', name="psycopg.pool")
    text = KeyValueFormatter().format(free)
    assert "\n" not in text
    assert text.endswith(
        "logger=psycopg.pool event=message message=\"error connecting in 'pool-1': "
        'refused \\"x\\"\\nagain"'
    )
    fields = json.loads(JsonFormatter().format(free))
    assert (fields["logger"], fields["event"]) == ("psycopg.pool", "message")
    assert fields["message"] == "error connecting in 'pool-1': refused \"x\"\nagain"


def test_a_traceback_stays_on_the_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failed = record("event=internal_error method=%s", "Publish")
        failed.exc_info = sys.exc_info()
    text = KeyValueFormatter().format(failed)
    assert "\n" not in text
    assert 'trace="Traceback' in text
    assert "RuntimeError: boom" in json.loads(JsonFormatter().format(failed))["trace"]


def test_grpc_core_is_quieted_unless_the_user_chose_a_setting() -> None:
    environment: dict[str, str] = {}
    quiet_grpc_core(environment)
    assert environment == {"GRPC_VERBOSITY": "NONE"}
    for chosen in ({"GRPC_VERBOSITY": "DEBUG"}, {"GRPC_TRACE": "api"}, {"GRPC_TRACE": ""}):
        environment = dict(chosen)
        quiet_grpc_core(environment)
        assert environment == chosen


def test_a_workers_context_ends_every_line_typed() -> None:
    context = {"worker": 2, "pid": 4242}
    text = KeyValueFormatter(context).format(record("event=stopped"))
    assert text.endswith(" event=stopped worker=2 pid=4242")
    free = KeyValueFormatter(context).format(record("not a template", name="psycopg"))
    assert free.endswith(' message="not a template" worker=2 pid=4242')
    fields = json.loads(JsonFormatter(context).format(record("event=stopped")))
    assert (fields["event"], fields["worker"], fields["pid"]) == ("stopped", 2, 4242)
