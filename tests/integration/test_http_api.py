"""The HTTP/JSON API against a real server on loopback, with a real HTTP client.

The reading routes: the summary, both listings and their pages, pages of events and
their cursor, lookups by sequence number and id in every engine, unknown routes and
methods, the console's files, the answers when storage is gone, and the listener turned
on from the environment. Publishes are in ``test_http_publish.py``; bad input in
``test_bad_input_both_faces.py``; tokens and TLS in ``test_http_security.py``;
subscriptions in ``test_http_subscribe.py``.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.server.limits import Limits
from logicblocks.event.server.storage_url import open_storage
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import (
    GrpcStorageAdapter,
    InMemoryStorageAdapter,
    SqliteStorageAdapter,
)
from logicblocks.event.types import NewEvent
from tests.support.grpc_server import running_event_store_server
from tests.support.http_api import base, call, publish
from tests.support.server_process import COMMAND, ServerProcess


@pytest.fixture
def server() -> Iterator[EventStoreServer]:
    with running_event_store_server(InMemoryStorageAdapter(), http_listen="127.0.0.1:0") as running:
        yield running


def test_info_counts_what_was_published(server: EventStoreServer) -> None:
    empty = call("GET", f"{base(server)}/api/v1/info")
    assert empty.status == 200
    assert empty.json["head"] is None
    assert empty.json["storage"] == "memory"
    publish(server, "accounts", "a-1", {"events": [{"name": "opened", "payload": {}}]})
    publish(server, "orders", "o-1", {"events": [{"name": "placed", "payload": {}}] * 2})
    info = call("GET", f"{base(server)}/api/v1/info").json
    assert {key: info[key] for key in ("head", "categories", "streams", "events")} == {
        "head": 2,
        "categories": 2,
        "streams": 2,
        "events": 3,
    }
    assert info["server_version"]


def test_categories_and_streams_come_a_page_at_a_time(server: EventStoreServer) -> None:
    for index in range(5):
        publish(server, f"c-{index}", "s", {"events": [{"name": "x", "payload": {}}]})
    for index in range(7):
        publish(server, "many", f"s-{index}", {"events": [{"name": "x", "payload": {}}]})
    publish(server, "many", "other", {"events": [{"name": "x", "payload": {}}]})
    names: list[str] = []
    token = ""
    while True:
        page = call("GET", f"{base(server)}/api/v1/categories?page_size=2&page_token={token}")
        assert page.status == 200
        assert len(page.json["categories"]) <= 2
        names += [category["category"] for category in page.json["categories"]]
        if page.json["next_page_token"] is None:
            break
        token = page.json["next_page_token"]
    assert names == ["c-0", "c-1", "c-2", "c-3", "c-4", "many"]
    streams: list[str] = []
    token = ""
    while True:
        page = call(
            "GET",
            f"{base(server)}/api/v1/categories/many/streams?prefix=s-&page_size=3"
            f"&page_token={token}",
        )
        assert page.json["category"] == "many"
        streams += [stream["stream"] for stream in page.json["streams"]]
        if page.json["next_page_token"] is None:
            break
        token = page.json["next_page_token"]
    assert streams == [f"s-{index}" for index in range(7)]
    first = call("GET", f"{base(server)}/api/v1/categories/many/streams").json["streams"][0]
    assert set(first) == {
        "stream",
        "events",
        "last_position",
        "last_sequence_number",
        "last_observed_at",
    }


def test_names_travel_percent_encoded_in_paths(server: EventStoreServer) -> None:
    publish(server, "café/orders", "a b/c", {"events": [{"name": "x", "payload": {}}]})
    streams = call(
        "GET", f"{base(server)}/api/v1/categories/{quote('café/orders', safe='')}/streams"
    )
    assert [stream["stream"] for stream in streams.json["streams"]] == ["a b/c"]
    events = call(
        "GET",
        f"{base(server)}/api/v1/events?category={quote('café/orders')}&stream={quote('a b/c')}",
    )
    assert [event["stream"] for event in events.json["events"]] == ["a b/c"]


def test_events_come_a_page_at_a_time_with_the_cursor_of_the_next(
    server: EventStoreServer,
) -> None:
    for index in range(7):
        publish(
            server,
            "orders" if index % 2 else "accounts",
            f"s-{index % 3}",
            {"events": [{"name": f"e-{index}", "payload": {"i": index}}]},
        )
    seen: list[int] = []
    after = -1
    while True:
        page = call("GET", f"{base(server)}/api/v1/events?category=orders&limit=2&after={after}")
        assert page.status == 200
        seen += [event["sequence_number"] for event in page.json["events"]]
        assert page.json["next_after"] == (seen[-1] if page.json["events"] else after)
        after = page.json["next_after"]
        if not page.json["more"]:
            break
    assert seen == [1, 3, 5]
    whole_log = call("GET", f"{base(server)}/api/v1/events").json
    assert [event["name"] for event in whole_log["events"]] == [f"e-{i}" for i in range(7)]
    assert whole_log["more"] is False
    stream = call("GET", f"{base(server)}/api/v1/events?category=accounts&stream=s-0").json
    assert [event["sequence_number"] for event in stream["events"]] == [0, 6]


def test_a_page_stops_at_about_a_mebibyte_of_payloads_and_says_more_follow() -> None:
    limits = Limits(max_payload_bytes=600_000, max_request_bytes=4 * 1024 * 1024)
    with running_event_store_server(
        InMemoryStorageAdapter(), limits=limits, http_listen="127.0.0.1:0"
    ) as server:
        big = {"events": [{"name": "x", "payload": {"s": "x" * 500_000}}] * 3}
        publish(server, "big", "s", big)
        page = call("GET", f"{base(server)}/api/v1/events?limit=10").json
        assert [event["sequence_number"] for event in page["events"]] == [0, 1]
        assert page["more"] is True
        rest = call("GET", f"{base(server)}/api/v1/events?after={page['next_after']}").json
        assert [event["sequence_number"] for event in rest["events"]] == [2]
        assert rest["more"] is False


def test_one_event_by_sequence_number(server: EventStoreServer) -> None:
    publish(server, "accounts", "a-1", {"events": [{"name": "x", "payload": {"k": "v"}}] * 2})
    found = call("GET", f"{base(server)}/api/v1/events/1")
    assert found.status == 200
    assert (found.json["sequence_number"], found.json["payload"]) == (1, {"k": "v"})
    for missing in ("2", "99999999999999999999999"):
        answer = call("GET", f"{base(server)}/api/v1/events/{missing}")
        assert answer.status == 404
        assert answer.json["code"] == "NOT_FOUND"


def test_unknown_routes_and_methods_get_json_errors(server: EventStoreServer) -> None:
    unknown = call("GET", f"{base(server)}/api/v1/nothing-here")
    assert (unknown.status, unknown.json["code"]) == (404, "NOT_FOUND")
    wrong = call("DELETE", f"{base(server)}/api/v1/info")
    assert (wrong.status, wrong.json["code"]) == (405, "UNIMPLEMENTED")
    assert "GET" in wrong.headers["Allow"]


def test_the_console_is_served_at_the_root_with_its_files(server: EventStoreServer) -> None:
    page = call("GET", f"{base(server)}/")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<html" in page.text.lower()
    script = call("GET", f"{base(server)}/console/js/main.js")
    assert script.status == 200
    assert "javascript" in script.headers["Content-Type"]
    escape = call("GET", f"{base(server)}/console/..%2F..%2Fapp.py")
    assert escape.status in (403, 404)


def test_storage_gone_is_503_and_the_server_serves_on(tmp_path: Path) -> None:
    adapter = SqliteStorageAdapter(path=tmp_path / "events.db")
    with running_event_store_server(adapter, http_listen="127.0.0.1:0") as server:
        adapter.close()
        answer = call("GET", f"{base(server)}/api/v1/events")
        assert (answer.status, answer.json["code"]) == (503, "UNAVAILABLE")
        publish_answer = call(
            "POST",
            f"{base(server)}/api/v1/streams/a/b/events",
            json_body={"events": [{"name": "x", "payload": {}}]},
        )
        assert publish_answer.status == 503
        assert call("GET", f"{base(server)}/").status == 200


def test_events_published_over_grpc_read_back_over_http(server: EventStoreServer) -> None:
    with GrpcStorageAdapter(target=f"127.0.0.1:{server.port}") as adapter:
        EventStore(adapter).stream(category="profiles", stream="joe").publish(
            events=[NewEvent(name="created", payload={"name": "Joe", "n": 2**70})]
        )
    page = call("GET", f"{base(server)}/api/v1/events?category=profiles").json
    assert json.loads(json.dumps(page["events"][0]["payload"])) == {"name": "Joe", "n": 2**70}


@pytest.mark.parametrize("engine", ["memory", "sqlite", "postgresql"])
def test_one_event_by_id_in_every_engine(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path}/events.db",
        "postgresql": request.getfixturevalue("postgres_database")
        if engine == "postgresql"
        else "",
    }[engine]
    adapter = open_storage(url)
    try:
        with running_event_store_server(adapter, http_listen="127.0.0.1:0") as server:
            for index in range(3):
                publish(
                    server,
                    "accounts",
                    f"a-{index}",
                    {"events": [{"id": f"id/{index}", "name": "x", "payload": {"i": index}}]},
                )
            found = call("GET", f"{base(server)}/api/v1/events/by-id/{quote('id/1', safe='')}")
            assert found.status == 200, found.text
            assert (found.json["id"], found.json["stream"], found.json["payload"]) == (
                "id/1",
                "a-1",
                {"i": 1},
            )
            missing = call("GET", f"{base(server)}/api/v1/events/by-id/nope")
            assert (missing.status, missing.json["code"]) == (404, "NOT_FOUND")
    finally:
        adapter.close()


def test_the_environment_turns_the_listener_on_and_the_log_says_where() -> None:
    command = [COMMAND, "serve", "--storage", "memory://", "--listen", "127.0.0.1:0"]
    with ServerProcess(command, env={"EVENT_STORE_HTTP_LISTEN": "127.0.0.1:0"}) as process:
        line = process.wait_for_line(
            re.compile(r"event=http_listening address=127\.0\.0\.1:0 port=(\d+) .*url=(\S+)"),
            30,
        )
        port, url = line.group(1), line.group(2)
        assert url == f"http://127.0.0.1:{port}/"
        assert call("GET", f"{url}api/v1/info").json["storage"] == "memory"
