"""Publishing over HTTP/JSON against a real server on loopback, with a real HTTP client.

201 with the stored events and their payload text exactly as sent (read back over HTTP
and gRPC alike), retries, 409 with the failed condition, 413 over the limits, 415 for a
body not sent as JSON, and bad input named by the parameter, segment or body field that
carried it, with nothing written.
"""

from collections.abc import Iterator

import grpc
import pytest

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.server.limits import Limits
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc
from tests.support.grpc_server import running_event_store_server
from tests.support.http_api import base, call, publish

LIMITS = Limits(max_events_per_publish=5, max_payload_bytes=200, max_request_bytes=4096)


@pytest.fixture
def server() -> Iterator[EventStoreServer]:
    with running_event_store_server(
        InMemoryStorageAdapter(), limits=LIMITS, http_listen="127.0.0.1:0"
    ) as running:
        yield running


def test_a_publish_answers_the_stored_events_with_their_payload_text_as_sent(
    server: EventStoreServer,
) -> None:
    # Key order, number forms and integers beyond 64 bits, as sent.
    payload = '{"z": 1, "big": 123456789012345678901234567890, "f": 1.50, "e": 1e300, "a": []}'
    body = (
        '{"events": [{"name": "opened", "id": "e-1", "payload": ' + payload + ","
        ' "occurred_at": "2026-01-02T03:04:05.123456+01:00"}]}'
    )
    answer = call(
        "POST",
        f"{base(server)}/api/v1/streams/accounts/a-1/events",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 201, answer.text
    assert payload in answer.text
    (event,) = answer.json["events"]
    assert list(event) == [
        "id",
        "name",
        "category",
        "stream",
        "position",
        "sequence_number",
        "payload",
        "observed_at",
        "occurred_at",
    ]
    assert (event["id"], event["category"], event["stream"], event["position"]) == (
        "e-1",
        "accounts",
        "a-1",
        0,
    )
    assert event["occurred_at"] == "2026-01-02T02:04:05.123456Z"
    # Read back over HTTP and over gRPC: the same text.
    page = call("GET", f"{base(server)}/api/v1/events?category=accounts&stream=a-1")
    assert payload in page.text
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        scanned = list(
            event_store_pb2_grpc.EventStoreStub(channel).Scan(
                event_store_pb2.ScanRequest(target={"log": {}}), timeout=10
            )
        )
    assert scanned[0].events[0].payload.decode() == payload


def test_a_retried_publish_returns_the_stored_events_and_writes_nothing_twice(
    server: EventStoreServer,
) -> None:
    body = {"events": [{"id": "same", "name": "opened", "payload": {"n": 1}}]}
    first = publish(server, "accounts", "a-1", body)
    again = publish(server, "accounts", "a-1", body)
    assert first == again
    assert call("GET", f"{base(server)}/api/v1/info").json["events"] == 1


def test_a_failed_condition_is_409_with_the_condition_and_the_last_position(
    server: EventStoreServer,
) -> None:
    url = f"{base(server)}/api/v1/streams/accounts/a-1/events"
    publish(server, "accounts", "a-1", {"events": [{"name": "opened", "payload": {}}] * 2})
    for condition, expected in (
        ({"stream_is_empty": {}}, {"stream_is_empty": {}}),
        ({"position_is": {"position": 0}}, {"position_is": {"position": 0}}),
    ):
        answer = call(
            "POST",
            url,
            json_body={"events": [{"name": "x", "payload": {}}], "conditions": [condition]},
        )
        assert answer.status == 409
        assert answer.json["code"] == "FAILED_PRECONDITION"
        assert answer.json["condition"] == expected
        assert (answer.json["category"], answer.json["stream"]) == ("accounts", "a-1")
        assert answer.json["last_position"] == 1
    answer = call(
        "POST",
        url,
        json_body={
            "events": [{"name": "x", "payload": {}}],
            "conditions": [{"position_is": {"position": 1}}],
        },
    )
    assert answer.status == 201
    assert answer.json["events"][0]["position"] == 2


def test_requests_over_the_limits_are_413_and_write_nothing(server: EventStoreServer) -> None:
    url = f"{base(server)}/api/v1/streams/accounts/a-1/events"
    too_many = call("POST", url, json_body={"events": [{"name": "x", "payload": {}}] * 6})
    assert too_many.status == 413
    assert too_many.json["field"] == "events"
    assert "max_events_per_publish" in too_many.json["rule"]
    too_big = call("POST", url, json_body={"events": [{"name": "x", "payload": {"s": "x" * 300}}]})
    assert too_big.status == 413
    assert too_big.json["field"] == "events[0].payload"
    request_too_big = call(
        "POST",
        url,
        json_body={"events": [{"name": "x", "payload": {"s": "x" * 150}}] * 40},
    )
    assert request_too_big.status == 413
    assert (request_too_big.json["code"], request_too_big.json["field"]) == (
        "RESOURCE_EXHAUSTED",
        "request",
    )
    assert call("GET", f"{base(server)}/api/v1/info").json["events"] == 0


def test_a_publish_must_say_it_is_json(server: EventStoreServer) -> None:
    answer = call(
        "POST",
        f"{base(server)}/api/v1/streams/accounts/a-1/events",
        body='{"events": [{"name": "x", "payload": {}}]}',
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status == 415
    assert answer.json["field"] == "Content-Type"
    assert call("GET", f"{base(server)}/api/v1/info").json["events"] == 0


def test_bad_input_names_the_query_parameter_or_segment_that_carried_it(
    server: EventStoreServer,
) -> None:
    for url, field, parameter in (
        ("/api/v1/events?after=abc", "after_sequence_number", "after"),
        ("/api/v1/events?limit=1001", "limit", "limit"),
        ("/api/v1/events?category=c&stream=", "target.stream.stream", "stream"),
        ("/api/v1/categories?page_size=x", "page_size", "page_size"),
        ("/api/v1/categories/c/streams?prefix=%07", "prefix", "prefix"),
    ):
        answer = call("GET", base(server) + url)
        assert answer.status == 400, url
        assert (answer.json["field"], answer.json["parameter"]) == (field, parameter), url
    body = call(
        "POST",
        f"{base(server)}/api/v1/streams/%09/s/events",
        json_body={"events": [{"name": 5, "payload": {}}]},
    )
    assert (body.json["field"], body.json["parameter"]) == ("events[0].name", None)
    segment = call(
        "POST",
        f"{base(server)}/api/v1/streams/%09/s/events",
        json_body={"events": [{"name": "x", "payload": {}}]},
    )
    assert (segment.json["field"], segment.json["parameter"]) == ("target.category", "category")
    for text, field in (
        ("[]", "request"),
        ('{"events": [{"name": "x", "payload": {}}], "extra": 1}', "extra"),
        ('{"events": [{"nmae": "x", "payload": {}}]}', "events[0].nmae"),
        ('{"events": [{"name": "x"}]}', "events[0].payload"),
        (
            '{"events": [{"name": "x", "payload": {}, "observed_at": "yesterday"}]}',
            "events[0].observed_at",
        ),
        ('{"events": {}}', "events"),
        ('{"events": [], "events": []}', "events"),
        ('{"events": [{"name": "x", "payload": {}, "payload": {}}]}', "events[0].payload"),
        (
            '{"events": [], "conditions": [{"position_is": {"position": "3"}}]}',
            "conditions[0].position_is.position",
        ),
        ('{"events": [{"name": "x", "payload": {}}', "request"),
    ):
        answer = call(
            "POST",
            f"{base(server)}/api/v1/streams/a/b/events",
            body=text,
            headers={"Content-Type": "application/json"},
        )
        assert (answer.status, answer.json["field"]) == (400, field), text
    assert call("GET", f"{base(server)}/api/v1/info").json["events"] == 0


def test_a_path_name_that_is_not_utf8_is_refused_not_stored_as_its_escape(
    server: EventStoreServer,
) -> None:
    answer = call(
        "POST",
        f"{base(server)}/api/v1/streams/%FF/s/events",
        json_body={"events": [{"name": "x", "payload": {}}]},
    )
    assert (answer.status, answer.json["field"]) == (400, "target.category")
    assert call("GET", f"{base(server)}/api/v1/info").json["events"] == 0


def test_tags_and_metadata_are_published_and_returned_and_bad_tags_are_named(
    server: EventStoreServer,
) -> None:
    url = f"{base(server)}/api/v1/streams/courses/c-1/events"
    metadata = (
        '{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "n": 1.50}'
    )
    body = (
        '{"events": [{"name": "opened", "payload": {}, "tags": ["course:c1", "term:t1"],'
        ' "metadata": ' + metadata + '}, {"name": "noted", "payload": {}, "metadata": null}]}'
    )
    answer = call("POST", url, body=body, headers={"Content-Type": "application/json"})
    assert answer.status == 201, answer.text
    tagged, plain = answer.json["events"]
    assert sorted(tagged["tags"]) == ["course:c1", "term:t1"]
    assert "tags" not in plain and "metadata" not in plain
    # Metadata comes back as the text sent, number forms and all, over HTTP and gRPC.
    page = call("GET", f"{base(server)}/api/v1/events?category=courses&stream=c-1")
    assert metadata in page.text
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        (batch, *_) = event_store_pb2_grpc.EventStoreStub(channel).Scan(
            event_store_pb2.ScanRequest(target={"log": {}}), timeout=10
        )
    assert batch.events[0].metadata.decode() == metadata
    assert sorted(batch.events[0].tags) == ["course:c1", "term:t1"]
    for tags, field in (
        ("{}", "events[0].tags"),
        ('["a", 3]', "events[0].tags[1]"),
        ('[""]', "events[0].tags[0]"),
    ):
        bad = call(
            "POST",
            url,
            body='{"events": [{"name": "x", "payload": {}, "tags": ' + tags + "}]}",
            headers={"Content-Type": "application/json"},
        )
        assert (bad.status, bad.json["field"]) == (400, field), tags
    assert call("GET", f"{base(server)}/api/v1/info").json["events"] == 2
