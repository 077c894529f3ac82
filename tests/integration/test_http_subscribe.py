"""``GET /api/v1/subscribe``: a subscription as Server-Sent Events, over a real connection.

The history, the caught-up marker, live events published over gRPC, heartbeats, a
reconnection with ``Last-Event-ID`` as a browser's EventSource makes it (nothing skipped,
nothing repeated, also after a heartbeat on a quiet target), a start from the end,
refusals before the stream starts, and the subscription slots gRPC shares.
"""

from collections.abc import Iterator

import pytest

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.server.limits import Limits
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.testing.waiting import wait_until
from logicblocks.event.types import NewEvent
from tests.support.grpc_server import running_event_store_server
from tests.support.http_api import EventStream, SseEvent, call

LIMITS = Limits(max_subscriptions=2)


@pytest.fixture
def server() -> Iterator[EventStoreServer]:
    with running_event_store_server(
        InMemoryStorageAdapter(), limits=LIMITS, http_listen="127.0.0.1:0"
    ) as running:
        yield running


def url(server: EventStoreServer, query: str) -> str:
    return f"http://127.0.0.1:{server.http_port}/api/v1/subscribe?{query}"


def publish(server: EventStoreServer, category: str, stream: str, *names: str) -> None:
    """Publish over gRPC, as another application would."""
    with GrpcStorageAdapter(target=f"127.0.0.1:{server.port}") as adapter:
        EventStore(adapter).stream(category=category, stream=stream).publish(
            events=[NewEvent(name=name, payload={"name": name}) for name in names]
        )


def stored(events: list[SseEvent]) -> list[tuple[str | None, str]]:
    return [(event.id, event.json["name"]) for event in events if event.name == "stored"]


def through(stream: EventStream, head: int) -> list[SseEvent]:
    """Events up to a caught-up or heartbeat marker whose head is at least ``head``: then
    every event of the target up to ``head`` has been sent.

    A marker may come before events committed just before the subscription (the log tail
    had not read them yet: they then come live), so tests wait for the head, not for the
    first marker.
    """
    seen: list[SseEvent] = []
    while True:
        event = stream.next()
        seen.append(event)
        if event.name in ("caught-up", "heartbeat"):
            marked = event.json["head"]
            if marked is not None and marked >= head:
                return seen


def test_history_then_caught_up_then_live_events_each_with_its_sequence_number_as_id(
    server: EventStoreServer,
) -> None:
    publish(server, "orders", "o-1", "placed", "paid")
    publish(server, "accounts", "a-1", "opened")
    with EventStream(url(server, "category=orders&heartbeat_interval=1")) as stream:
        assert stream.status == 200
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        history = through(stream, 2)
        assert stream.retry == 2000
        assert stored(history) == [("0", "placed"), ("1", "paid")]
        assert history[-1].json == {"head": 2}
        assert history[-1].id == "2"
        assert [event.name for event in history].count("caught-up") == 1
        publish(server, "accounts", "a-1", "ignored")
        publish(server, "orders", "o-2", "shipped")
        live = stream.until("stored")
        assert stored(live) == [("4", "shipped")]
        event = live[-1].json
        assert (event["category"], event["stream"], event["position"]) == ("orders", "o-2", 0)
        assert event["payload"] == {"name": "shipped"}


def test_an_event_source_resumes_with_last_event_id_without_gap_or_repeat(
    server: EventStoreServer,
) -> None:
    publish(server, "orders", "o-1", "e0", "e1", "e2")
    with EventStream(url(server, "category=orders&heartbeat_interval=1")) as first:
        events = through(first, 2)
        assert stored(events) == [("0", "e0"), ("1", "e1"), ("2", "e2")]
        last_id = events[-1].id
    # Published while no one was connected: the reconnection must deliver exactly these.
    publish(server, "orders", "o-1", "e3", "e4")
    publish(server, "other", "x", "not-mine")
    with EventStream(
        url(server, "category=orders&after=0&heartbeat_interval=1"),
        headers={"Last-Event-ID": str(last_id)},
    ) as resumed:
        events = through(resumed, 5)
        assert stored(events) == [("3", "e3"), ("4", "e4")]
        assert events[-1].id == "5"


def test_a_heartbeat_moves_the_id_on_past_other_targets_events(server: EventStoreServer) -> None:
    publish(server, "orders", "o-1", "placed")
    with EventStream(url(server, "category=orders&heartbeat_interval=1")) as stream:
        through(stream, 0)
        publish(server, "accounts", "a-1", "opened", "closed")
        # A heartbeat carries the head past the other category's events.
        heartbeat = through(stream, 2)[-1]
        assert heartbeat.name == "heartbeat"
        assert heartbeat.json == {"head": 2}
        assert heartbeat.id == "2"
    publish(server, "orders", "o-1", "paid")
    with EventStream(
        url(server, "category=orders&heartbeat_interval=1"),
        headers={"Last-Event-ID": str(heartbeat.id)},
    ) as resumed:
        assert stored(through(resumed, 3)) == [("3", "paid")]


def test_from_end_delivers_only_what_is_published_afterwards(server: EventStoreServer) -> None:
    publish(server, "orders", "o-1", "old")
    with EventStream(url(server, "from_end=true")) as stream:
        caught_up = stream.until("caught-up")
        assert stored(caught_up) == []
        assert caught_up[-1].json == {"head": 0}
        publish(server, "orders", "o-1", "new")
        assert stored(stream.until("stored")) == [("1", "new")]


def test_an_empty_store_is_caught_up_at_once_and_resumes_from_the_start(
    server: EventStoreServer,
) -> None:
    with EventStream(url(server, "from_end=true")) as stream:
        (caught_up,) = stream.until("caught-up")
        assert caught_up.json == {"head": None}
        assert caught_up.id == "-1"
    # Published while disconnected: a reconnection (from_end again, but with the id)
    # must not skip it.
    publish(server, "orders", "o-1", "first")
    with EventStream(
        url(server, "from_end=true&heartbeat_interval=1"), headers={"Last-Event-ID": "-1"}
    ) as resumed:
        assert stored(through(resumed, 0)) == [("0", "first")]


def test_payloads_spanning_lines_arrive_whole(server: EventStoreServer) -> None:
    text = '{\n  "a": 1,\n  "big": 123456789012345678901234567890\n}'
    answer = call(
        "POST",
        f"http://127.0.0.1:{server.http_port}/api/v1/streams/s/t/events",
        body='{"events": [{"name": "multi", "payload": ' + text + "}]}",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 201
    with EventStream(url(server, "heartbeat_interval=1")) as stream:
        (event,) = [event for event in through(stream, 0) if event.name == "stored"]
        assert text in event.data
        assert event.json["payload"] == {"a": 1, "big": 123456789012345678901234567890}


def test_refusals_come_before_the_stream_as_plain_http_errors(server: EventStoreServer) -> None:
    with EventStream(url(server, "after=5")) as beyond:
        assert beyond.status == 400
        body = call("GET", url(server, "after=5")).json
        assert (body["code"], body["field"], body["parameter"]) == (
            "OUT_OF_RANGE",
            "after_sequence_number",
            "after",
        )
        assert body["head"] == -1
    resume = call("GET", url(server, ""), headers={"Last-Event-ID": "nonsense"})
    assert (resume.status, resume.json["parameter"]) == (400, "Last-Event-ID")
    both = call("GET", url(server, "after=1&from_end=true"))
    assert (both.status, both.json["field"]) == (400, "after_sequence_number")


def test_sse_streams_take_the_subscription_slots_gpc_uses(server: EventStoreServer) -> None:
    with EventStream(url(server, "")) as one, EventStream(url(server, "")) as two:
        one.until("caught-up")
        two.until("caught-up")
        refused = call("GET", url(server, ""))
        assert (refused.status, refused.json["code"]) == (429, "RESOURCE_EXHAUSTED")
        assert "max_subscriptions" in refused.json["message"]
    # Closed by the client: the slots come back (the server notices the closed
    # connections on its own time, so wait for it with a deadline).

    def slot_free() -> bool:
        with EventStream(url(server, "")) as again:
            return again.status == 200

    assert wait_until(slot_free, timeout=10)


def test_a_stopping_server_ends_the_stream_so_the_client_reconnects() -> None:
    with running_event_store_server(InMemoryStorageAdapter(), http_listen="127.0.0.1:0") as server:
        stream = EventStream(url(server, ""))
        stream.until("caught-up")
    with stream, pytest.raises(EOFError):
        stream.next()
