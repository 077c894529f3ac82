"""The HTTP/JSON API's consumer group routes against a real server on loopback: groups made
and consumed through the gRPC client, read back with a real HTTP client."""

from collections.abc import Iterator

import pytest

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from logicblocks.event.store.groups import FROM_END, GroupSettings
from logicblocks.event.types import NewEvent
from tests.support.grpc_server import running_event_store_server
from tests.support.http_api import base, call

# Every failed event is parked at once.
PARK_AT_ONCE = GroupSettings(max_retries=0, ack_timeout=12.5, partitions=4)


@pytest.fixture
def served() -> Iterator[tuple[EventStoreServer, EventStore]]:
    storage = InMemoryStorageAdapter()
    with (
        running_event_store_server(storage, http_listen="127.0.0.1:0") as server,
        GrpcStorageAdapter(target=f"127.0.0.1:{server.port}") as adapter,
    ):
        yield server, EventStore(adapter)


def park_all(store: EventStore, group: str, count: int) -> None:
    """Consume ``group``, rejecting its first ``count`` deliveries (each is parked)."""
    with store.consumer_group(group).consume() as consumer:
        for rejected, delivery in enumerate(consumer, start=1):
            delivery.nack(reason=f"no account for {delivery.event.stream}")
            if rejected == count:
                break


def test_the_groups_show_their_target_settings_and_state(
    served: tuple[EventStoreServer, EventStore],
) -> None:
    server, store = served
    store.category(category="orders").consumer_group("billing").create(settings=PARK_AT_ONCE)
    store.stream(category="orders", stream="o-1").publish(
        events=[NewEvent(name="placed", payload={})]
    )
    store.log().consumer_group("audit").create(start=FROM_END)
    store.stream(category="orders", stream="o-2").publish(
        events=[NewEvent(name="placed", payload={})]
    )
    park_all(store, "billing", 1)

    answer = call("GET", f"{base(server)}/api/v1/groups")
    assert answer.status == 200
    audit, billing = answer.json["groups"]
    assert billing == {
        "name": "billing",
        "target": {"category": {"category": "orders"}},
        "start": {"beginning": {}},
        "settings": {
            "ack_timeout": 12.5,
            "max_retries": 0,
            "retry_backoff": 1.0,
            "retry_backoff_max": 60.0,
            "max_in_flight": 100,
            "member_timeout": 10.0,
            "partitions": 4,
        },
        "lag": 1,
        "parked": 1,
        "members": [],
    }
    assert audit["target"] == {"log": {}}
    assert audit["start"] == {"end": {}}
    assert audit["lag"] == 1
    assert call("GET", f"{base(server)}/api/v1/groups/billing").json == billing
    # Whole seconds as integers, as a reader that keeps numbers as their text expects.
    assert '"retry_backoff": 1,' in answer.text
    assert '"ack_timeout": 12.5,' in answer.text


def test_parked_events_come_a_page_at_a_time(
    served: tuple[EventStoreServer, EventStore],
) -> None:
    server, store = served
    store.category(category="orders").consumer_group("billing").create(settings=PARK_AT_ONCE)
    for stream in ("o-1", "o-2", "o-3"):
        store.stream(category="orders", stream=stream).publish(
            events=[NewEvent(name="placed", payload={})]
        )
    park_all(store, "billing", 3)

    first = call("GET", f"{base(server)}/api/v1/groups/billing/parked?limit=2")
    assert first.status == 200
    assert first.json["more"] is True
    assert [event["stream"] for event in first.json["parked_events"]] == ["o-1", "o-2"]
    event = first.json["parked_events"][0]
    assert event["reason"] == "no account for o-1"
    assert event["attempts"] == 1
    assert event["replaying"] is False
    assert event["parked_at"].endswith("Z")
    after = first.json["parked_events"][-1]["sequence_number"]
    rest = call("GET", f"{base(server)}/api/v1/groups/billing/parked?after={after}")
    assert [event["stream"] for event in rest.json["parked_events"]] == ["o-3"]
    assert rest.json["more"] is False


def test_an_unknown_group_and_bad_parameters_are_named(
    served: tuple[EventStoreServer, EventStore],
) -> None:
    server, store = served
    store.log().consumer_group("audit").create()
    missing = call("GET", f"{base(server)}/api/v1/groups/nothing")
    assert missing.status == 404
    assert missing.json["code"] == "NOT_FOUND"
    assert "nothing" in missing.json["message"]
    assert call("GET", f"{base(server)}/api/v1/groups/nothing/parked").status == 404
    for query, field, parameter in (
        ("limit=abc", "limit", "limit"),
        ("limit=-1", "limit", "limit"),
        ("after=-5", "after_sequence_number", "after"),
        ("after=x", "after_sequence_number", "after"),
    ):
        answer = call("GET", f"{base(server)}/api/v1/groups/audit/parked?{query}")
        assert answer.status == 400, query
        assert (answer.json["code"], answer.json["field"], answer.json["parameter"]) == (
            "INVALID_ARGUMENT",
            field,
            parameter,
        ), query
