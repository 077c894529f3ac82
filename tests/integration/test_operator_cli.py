"""The operator's client subcommands, run as users run them, against a real server process."""

import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.store.groups import GroupSettings
from logicblocks.event.types import NewEvent, StoredEvent
from tests.support.server_process import COMMAND, ServerProcess

SERVE = [COMMAND, "serve", "--listen", "127.0.0.1:0", "--storage", "memory://"]


def cli(
    *arguments: str, target: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *arguments, "--target", target],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def one_line_failure(finished: subprocess.CompletedProcess[str], status: int = 1) -> str:
    """The single stderr line of a failed command (no traceback, nothing on stdout)."""
    assert finished.returncode == status, finished.stderr
    assert finished.stdout == ""
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("logicblocks-event-store: ")
    return lines[0]


def log_of(target: str) -> list[StoredEvent]:
    with GrpcStorageAdapter(target=target) as adapter:
        return list(EventStore(adapter).log().scan())


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(SERVE) as process:
        yield process


def test_publish_then_read_as_json_lines_and_as_a_table(server: ServerProcess) -> None:
    lines = (
        '{"name": "opened", "payload": {"owner": "Zoë", "n": 1152921504606846976}}\n'
        "\n"
        '{"name": "renamed", "payload": {"to": "b"}, "id": "evt-2", '
        '"occurred_at": "2020-02-03T04:05:06.789Z", "observed_at": "2021-01-01T00:00:00+01:00"}\n'
    )
    published = cli(
        "publish", "--category", "accounts", "--stream", "a-1", "--if-empty",
        target=server.target, stdin=lines,
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    stored = json_lines(published.stdout)
    assert [event["name"] for event in stored] == ["opened", "renamed"]
    assert stored[0]["payload"] == {"owner": "Zoë", "n": 2**60}
    assert stored[1]["id"] == "evt-2"
    assert stored[1]["occurred_at"] == "2020-02-03T04:05:06.789000Z"
    assert stored[1]["observed_at"] == "2020-12-31T23:00:00Z"
    assert [event["position"] for event in stored] == [0, 1]

    # The same stream, again only if empty: refused, one line, nothing written.
    again = cli(
        "publish", "--category", "accounts", "--stream", "a-1", "--if-empty",
        target=server.target, stdin='{"name": "opened", "payload": {}}\n',
    )  # fmt: skip
    assert "stream is not empty" in one_line_failure(again)
    at_position = cli(
        "publish", "--category", "accounts", "--stream", "a-1", "--if-position", "1",
        target=server.target, stdin='{"name": "closed", "payload": {}}\n',
    )  # fmt: skip
    assert at_position.returncode == 0, at_position.stderr
    cli(
        "publish", "--category", "other", "--stream", "o-1",
        target=server.target, stdin='{"name": "noise", "payload": {}}\n',
    )  # fmt: skip

    read = cli("read", "--category", "accounts", "--stream", "a-1", target=server.target)
    assert read.returncode == 0, read.stderr
    events = json_lines(read.stdout)
    assert [event["name"] for event in events] == ["opened", "renamed", "closed"]
    assert events[:2] == stored
    assert set(events[0]) == {
        "id", "name", "category", "stream", "position", "sequence_number",
        "payload", "observed_at", "occurred_at",
    }  # fmt: skip

    first = events[0]["sequence_number"]
    after = cli(
        "read", "--category", "accounts", "--after", str(first), "--limit", "1",
        target=server.target,
    )  # fmt: skip
    assert [event["name"] for event in json_lines(after.stdout)] == ["renamed"]

    table = cli("read", "--category", "accounts", "--format", "table", target=server.target)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["sequence_number", "category", "stream"]
    assert len(rows) == 3 and "Zoë" in rows[0] and "noise" not in table.stdout


def test_bad_input_is_one_line_and_writes_nothing(server: ServerProcess) -> None:
    publish = ["publish", "--category", "bad", "--stream", "b-1"]
    not_json = cli(*publish, target=server.target, stdin='{"name": "a", "payload": {}}\n{oops\n')
    assert "stdin line 2: not JSON" in one_line_failure(not_json, status=2)
    no_payload = cli(*publish, target=server.target, stdin='{"name": "a"}\n')
    assert "stdin line 1: payload" in one_line_failure(no_payload, status=2)
    stamp = cli(
        *publish, target=server.target, stdin='{"name": "a", "payload": {}, "occurred_at": "x"}\n'
    )
    assert "occurred_at: must be an RFC 3339 timestamp" in one_line_failure(stamp, status=2)
    assert not [event for event in log_of(server.target) if event.category == "bad"]

    stream_alone = cli("read", "--stream", "b-1", target=server.target)
    assert "--stream needs --category" in one_line_failure(stream_alone, status=2)


def test_a_server_that_is_not_there_is_one_line() -> None:
    # Port 1 is privileged and unused here: nothing answers.
    for command in (["read"], ["tail"], ["export"]):
        finished = cli(*command, target="127.0.0.1:1")
        assert "127.0.0.1:1: the event store server is unavailable" in one_line_failure(finished)


class _Lines:
    """A pipe of a child process read line by line in a thread, taken with a deadline."""

    def __init__(self, pipe: IO[str]):
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line.rstrip("\n"))

    def next(self, timeout: float = 30.0) -> str:
        return self._queue.get(timeout=timeout)


def test_tail_from_end_prints_what_is_published_after_it_started(server: ServerProcess) -> None:
    with GrpcStorageAdapter(target=server.target) as adapter:
        stream = EventStore(adapter).stream(category="tailed", stream="t-1")
        stream.publish(events=[NewEvent(name="before", payload={})])
        # Buffered as in a user's pipe (`tail | jq`): each event must still come through.
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        tail = subprocess.Popen(
            [COMMAND, "tail", "--category", "tailed", "--from-end", "--target", server.target],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        try:
            assert tail.stdout is not None and tail.stderr is not None
            out, err = _Lines(tail.stdout), _Lines(tail.stderr)
            # Said once the subscription has caught up with the end.
            assert "following category tailed from the end" in err.next()
            stream.publish(events=[NewEvent(name="after", payload={"k": [1, 2]})])
            EventStore(adapter).stream(category="elsewhere", stream="e").publish(
                events=[NewEvent(name="not-tailed", payload={})]
            )
            stream.publish(events=[NewEvent(name="later", payload={})])
            printed = [json.loads(out.next()), json.loads(out.next())]
            assert [(e["name"], e["payload"]) for e in printed] == [
                ("after", {"k": [1, 2]}),
                ("later", {}),
            ]
            tail.send_signal(signal.SIGINT)
            assert tail.wait(timeout=30) == 0
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.wait(timeout=30)


def _source_events() -> Iterator[tuple[str, str, NewEvent]]:
    """Interleaved streams, then one stream long enough to take several publishes."""
    moment = datetime(2019, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    for index in range(6):
        yield (
            "orders",
            f"o-{index % 3}",
            NewEvent(name="placed", payload={"i": index, "note": "ünïcode"}, occurred_at=moment),
        )
    for index in range(1200):
        yield "ledger", "big", NewEvent(name="entry", payload={"i": index, "x": [1.5, None]})
    yield "orders", "o-0", NewEvent(name="shipped", payload={"nested": {"deep": True}})


def test_an_export_imports_into_a_fresh_store_as_the_same_log_and_only_once(
    tmp_path: Path,
) -> None:
    with ServerProcess(SERVE) as source, ServerProcess(SERVE) as target:
        with GrpcStorageAdapter(target=source.target) as adapter:
            store = EventStore(adapter)
            for category, stream, event in _source_events():
                store.stream(category=category, stream=stream).publish(events=[event])
        original = log_of(source.target)

        export = tmp_path / "log.jsonl"
        exported = cli("export", "--output", str(export), target=source.target)
        assert exported.returncode == 0, exported.stderr
        # Quiet in a pipe: no progress bar, only the summary.
        assert exported.stderr.splitlines() == [
            f"logicblocks-event-store: exported {len(original)} events to {export}"
        ]
        lines = export.read_text().splitlines()
        assert len(lines) == len(original)
        assert cli("export", target=source.target).stdout.splitlines() == lines
        after = str(original[-3].sequence_number)
        tail_only = cli("export", "--after", after, target=source.target)
        assert tail_only.stdout.splitlines() == lines[-2:]

        # An import stopped part way (here: one that had only the first 700 lines, cut
        # inside a publish of the long stream), then the whole file.
        part = tmp_path / "part.jsonl"
        part.write_text("\n".join(lines[:700]) + "\n")
        assert cli("import", str(part), target=target.target).returncode == 0
        whole = cli("import", str(export), target=target.target)
        assert whole.returncode == 0, whole.stderr
        assert f"{len(original)} events, {len(original) - 700} added" in whole.stderr
        assert log_of(target.target) == original  # every field, in the log's order

        again = cli("import", str(export), target=target.target)
        assert again.returncode == 0, again.stderr
        assert f"0 added, {len(original)} already stored" in again.stderr
        assert log_of(target.target) == original

        broken = tmp_path / "broken.jsonl"
        broken.write_text(lines[0] + "\n" + lines[1][:-5] + "\n")
        refused = cli("import", str(broken), target=target.target)
        assert f"{broken} line 2: not JSON" in one_line_failure(refused, status=2)
        assert log_of(target.target) == original


def test_tokens_and_tls_failures_are_one_line(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("writer-token read-write\nreader-token read-only\n")
    with ServerProcess([*SERVE, "--auth-tokens-file", str(tokens)]) as server:
        wrong = cli("read", "--token", "wrong-token", target=server.target)
        assert "the server refused the credentials" in one_line_failure(wrong)

        event = '{"name": "a", "payload": {}}\n'
        publish = ["publish", "--category", "c", "--stream", "s"]
        read_only = cli(*publish, "--token", "reader-token", target=server.target, stdin=event)
        assert "the server refused the call" in one_line_failure(read_only)

        environment = {"EVENT_STORE_TOKEN": "writer-token", "PATH": str(Path(COMMAND).parent)}
        written = cli(*publish, target=server.target, stdin=event, env=environment)
        assert written.returncode == 0, written.stderr
        read = cli("read", "--token", "reader-token", target=server.target)
        assert [e["name"] for e in json_lines(read.stdout)] == ["a"]

        # TLS asked of a plaintext server: refused, never sent in the clear.
        ca = tmp_path / "absent-ca.pem"
        missing = cli("read", "--tls-ca", str(ca), "--token", "reader-token", target=server.target)
        assert "cannot read" in one_line_failure(missing, status=2)


def test_categories_streams_and_info_list_every_page(server: ServerProcess) -> None:
    # More streams than two of the server's largest pages: the command follows the tokens.
    names = [f"s-{index:05d}" for index in range(2_100)]
    with (
        GrpcStorageAdapter(target=server.target) as adapter,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        store = EventStore(adapter)
        event = NewEvent(name="made", payload={})
        list(
            pool.map(
                lambda name: store.stream(category="many", stream=name).publish(events=[event]),
                names,
            )
        )
    streams = cli("streams", "many", target=server.target)
    assert streams.returncode == 0, streams.stderr
    listed = json_lines(streams.stdout)
    assert [row["stream"] for row in listed] == names
    assert {row["events"] for row in listed} == {1}
    assert set(listed[0]) == {
        "stream", "events", "last_position", "last_sequence_number", "last_observed_at",
    }  # fmt: skip
    prefixed = cli("streams", "many", "--prefix", "s-0205", target=server.target)
    assert [row["stream"] for row in json_lines(prefixed.stdout)] == names[2050:2060]

    categories = {row["category"]: row for row in json_lines(
        cli("categories", target=server.target).stdout
    )}  # fmt: skip
    assert (categories["many"]["streams"], categories["many"]["events"]) == (2_100, 2_100)
    table = cli("categories", "--format", "table", target=server.target).stdout.splitlines()
    assert table[0].split() == ["category", "streams", "events", "last_sequence_number"]
    assert any(line.split()[:3] == ["many", "2100", "2100"] for line in table[1:])

    (info,) = json_lines(cli("info", target=server.target).stdout)
    assert info["storage"] == "memory"
    assert info["head"] == max(row["last_sequence_number"] for row in categories.values())
    assert info["streams"] >= 2_100 and info["categories"] == len(categories)


def test_groups_are_listed_with_their_lag_and_parked_events_replayed_and_dropped(
    server: ServerProcess,
) -> None:
    with GrpcStorageAdapter(target=server.target) as adapter:
        store = EventStore(adapter)
        orders = store.stream(category="cli-groups", stream="o-1")
        orders.publish(events=[NewEvent(name="placed", payload={}) for _ in range(3)])
        group = store.category(category="cli-groups").consumer_group("cli-billing")
        group.create(settings=GroupSettings(max_retries=0, retry_backoff=0.0))
        with group.consume() as deliveries:
            first = next(deliveries)
            first.nack(reason="no such customer")  # no retries: parked at once
            second = next(deliveries)  # the stream moves on past the parked event
        assert second.event.position == 1
        parked_number = first.event.sequence_number

    listed = cli("groups", target=server.target)
    assert listed.returncode == 0, listed.stderr
    (row,) = [row for row in json_lines(listed.stdout) if row["name"] == "cli-billing"]
    assert (row["target"], row["start"], row["parked"]) == ("category cli-groups", "beginning", 1)
    assert row["lag"] >= 2  # the second delivery was never acked, the third never sent

    parked = cli("parked", "cli-billing", "--format", "table", target=server.target)
    assert parked.returncode == 0, parked.stderr
    assert "no such customer" in parked.stdout

    replayed = cli(
        "replay", "cli-billing", "--sequence-number", str(parked_number), target=server.target
    )
    assert json_lines(replayed.stdout) == [{"group": "cli-billing", "replaying": 1}]
    dropped = cli("drop", "cli-billing", target=server.target)
    assert json_lines(dropped.stdout) == [{"group": "cli-billing", "dropped": 1}]
    assert json_lines(cli("parked", "cli-billing", target=server.target).stdout) == []

    missing = cli("parked", "no-such-group", target=server.target)
    assert "no consumer group named 'no-such-group'" in one_line_failure(missing)
