"""Bad input gets the same answer over gRPC and over HTTP: one table, both faces.

Each case is written once, in a neutral form, and sent both ways: as a gRPC request
through the generated stubs, and as the HTTP request that means the same (a JSON body, a
URL path, query parameters). Each face must name the field by the same path from the
request's root, with the same rule and the same message, and write nothing. Cases only
one face can express (JSON that is not a number where one is needed, a protobuf field
JSON has no way to leave unset) are not in the table.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import grpc
import pytest
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from logicblocks.event.server.app import EventStoreServer
from logicblocks.event.server.limits import Limits
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc, events_pb2
from tests.support.grpc_server import running_event_store_server
from tests.support.http_api import EventStream, call

# Small limits, so the limit rules are reached with small requests.
LIMITS = Limits(max_events_per_publish=3, max_payload_bytes=256, max_name_length=20)
LONG = "x" * 21
DEEP = "[" * 101 + "]" * 101


@dataclass(frozen=True)
class Publish:
    """A publish: events as (name, payload text, id or None), conditions as the proto's
    JSON shape."""

    events: list[tuple[str, str, str | None]] = field(
        default_factory=lambda: [("placed", "{}", None)]
    )
    category: str = "orders"
    stream: str = "o-1"
    conditions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Read:
    """A scan (``limit``) or subscription (``heartbeat``) target and start: the neutral
    names are the HTTP query parameters."""

    category: str | None = None
    stream: str | None = None
    after: int | None = None
    limit: int | None = None
    heartbeat: float | None = None
    subscribe: bool = False


@dataclass(frozen=True)
class Listing:
    """A listing of categories (``category`` None) or of a category's streams."""

    category: str | None = None
    prefix: str = ""
    page_size: int = 0
    page_token: str = ""


def event(
    name: str = "placed", payload: str = "{}", id: str | None = None
) -> tuple[str, str, str | None]:
    return (name, payload, id)


# (case, the field's path, a part of the rule)
CASES: list[tuple[Publish | Read | Listing, str, str]] = [
    (Publish(category=LONG), "target.category", "at most 20 characters"),
    (Publish(stream="tab\there"), "target.stream", "control characters"),
    (Publish(events=[event()] * 4), "events", "at most 3 events"),
    (Publish(events=[event(), event(name="")]), "events[1].name", "non-empty"),
    (Publish(events=[event(name=LONG)]), "events[0].name", "at most 20 characters"),
    (Publish(events=[event(id="")]), "events[0].id", "non-empty"),
    (Publish(events=[event(id=LONG)]), "events[0].id", "at most 20 characters"),
    (Publish(events=[event(id="same"), event(id="same")]), "events[1].id", "unique"),
    (Publish(events=[event(payload="[1]")]), "events[0].payload", "a JSON object"),
    (Publish(events=[event(payload="null")]), "events[0].payload", "a JSON object"),
    (Publish(events=[event(payload='{"n": NaN}')]), "events[0].payload", "NaN"),
    (Publish(events=[event(payload='{"s": "\\ud800"}')]), "events[0].payload", "surrogates"),
    (Publish(events=[event(payload='{"d": ' + DEEP + "}")]), "events[0].payload", "levels"),
    (
        Publish(events=[event(payload='{"n":"' + "x" * 256 + '"}')]),
        "events[0].payload",
        "256 bytes",
    ),
    (Publish(conditions=[{}]), "conditions[0]", "position_is or stream_is_empty"),
    (
        Publish(conditions=[{"stream_is_empty": {}}, {"position_is": {"position": -1}}]),
        "conditions[1].position_is.position",
        ">= 0",
    ),
    (Read(category=""), "target.category.category", "non-empty"),
    (Read(category=LONG), "target.category.category", "at most 20"),
    (Read(category="", stream="s"), "target.stream.category", "non-empty"),
    (Read(category="c", stream=""), "target.stream.stream", "non-empty"),
    (Read(category="c", stream="nl\n"), "target.stream.stream", "control characters"),
    (Read(after=-2), "after_sequence_number", ">= -1"),
    (Read(limit=-1), "limit", ">= 0"),
    (Read(category="", subscribe=True), "target.category.category", "non-empty"),
    (Read(category="c", stream="", subscribe=True), "target.stream.stream", "non-empty"),
    (Read(after=-2, subscribe=True), "after_sequence_number", ">= -1"),
    (Read(heartbeat=0.999, subscribe=True), "heartbeat_interval", "between"),
    (Read(heartbeat=3601, subscribe=True), "heartbeat_interval", "between"),
    (Listing(page_size=-1), "page_size", "between 0 and 1000"),
    (Listing(page_size=1001), "page_size", "between 0 and 1000"),
    (Listing(page_token="not a token"), "page_token", "next_page_token"),
    (Listing(category=LONG), "category", "at most 20"),
    (Listing(category="c\x07"), "category", "control characters"),
    (Listing(category="c", prefix=LONG), "prefix", "at most 20"),
    (Listing(category="c", page_size=1001), "page_size", "between 0 and 1000"),
    (Listing(category="c", page_token="%%%"), "page_token", "next_page_token"),
]
IDS = [f"{index}-{path}" for index, (_, path, _) in enumerate(CASES)]


@pytest.fixture(scope="module")
def server() -> Iterator[EventStoreServer]:
    with running_event_store_server(
        InMemoryStorageAdapter(), limits=LIMITS, http_listen="127.0.0.1:0"
    ) as running:
        yield running


# gRPC ---------------------------------------------------------------------------------------


def _grpc_request(case: Publish | Read | Listing) -> tuple[str, Any]:
    match case:
        case Publish():
            return "Publish", event_store_pb2.PublishRequest(
                target={"category": case.category, "stream": case.stream},
                events=[
                    events_pb2.NewEvent(name=name, payload=payload.encode(), id=id)
                    for name, payload, id in case.events
                ],
                conditions=case.conditions,
            )
        case Read():
            if case.stream is not None:
                target: dict[str, Any] = {
                    "stream": {"category": case.category or "", "stream": case.stream}
                }
            elif case.category is not None:
                target = {"category": {"category": case.category}}
            else:
                target = {"log": {}}
            fields: dict[str, Any] = {"target": target}
            if case.after is not None:
                fields["after_sequence_number"] = case.after
            if case.subscribe:
                if case.heartbeat is not None:
                    seconds = int(case.heartbeat)
                    fields["heartbeat_interval"] = {
                        "seconds": seconds,
                        "nanos": round((case.heartbeat - seconds) * 1e9),
                    }
                return "Subscribe", event_store_pb2.SubscribeRequest(**fields)
            if case.limit is not None:
                fields["limit"] = case.limit
            return "Scan", event_store_pb2.ScanRequest(**fields)
        case Listing():
            if case.category is None:
                return "ListCategories", event_store_pb2.ListCategoriesRequest(
                    page_size=case.page_size, page_token=case.page_token
                )
            return "ListStreams", event_store_pb2.ListStreamsRequest(
                category=case.category,
                prefix=case.prefix,
                page_size=case.page_size,
                page_token=case.page_token,
            )


def grpc_answer(server: EventStoreServer, case: Publish | Read | Listing) -> tuple[str, str, str]:
    """The field path, the rule and the message gRPC's ``BadRequest`` gives."""
    method, request = _grpc_request(case)
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call_method = getattr(event_store_pb2_grpc.EventStoreStub(channel), method)
        with pytest.raises(grpc.RpcError) as raised:
            answer = call_method(request, timeout=10)
            if method in ("Scan", "Subscribe"):
                list(answer)
    error: Any = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    (violation,) = bad_request.field_violations
    return violation.field, violation.description, error.details()


# HTTP ---------------------------------------------------------------------------------------


def _segment(name: str) -> str:
    return quote(name, safe="")


def http_answer(server: EventStoreServer, case: Publish | Read | Listing) -> tuple[str, str, str]:
    """The field path, the rule and the message of the HTTP error body."""
    base = f"http://127.0.0.1:{server.http_port}/api/v1"
    match case:
        case Publish():
            events = ", ".join(
                "{"
                + f'"name": {json.dumps(name)}, "payload": {payload}'
                + (f', "id": {json.dumps(id)}' if id is not None else "")
                + "}"
                for name, payload, id in case.events
            )
            body = f'{{"events": [{events}], "conditions": {json.dumps(case.conditions)}}}'
            answer = call(
                "POST",
                f"{base}/streams/{_segment(case.category)}/{_segment(case.stream)}/events",
                body=body,
                headers={"Content-Type": "application/json"},
            )
            # Over a size limit: the same field and rule, as 413 Content Too Large.
            over_limit = "(max_events_per_publish" in answer.text or "(max_payload" in answer.text
            assert answer.status == (413 if over_limit else 400), answer.text
            body_json = answer.json
        case Read():
            parameters = {
                name: value
                for name, value in (
                    ("category", case.category),
                    ("stream", case.stream),
                    ("after", case.after),
                    ("limit", case.limit),
                    ("heartbeat_interval", case.heartbeat),
                )
                if value is not None
            }
            url = f"{base}/{'subscribe' if case.subscribe else 'events'}?{urlencode(parameters)}"
            with EventStream(url) as stream:
                assert stream.status == 400
                body_json = json.loads(stream.body())
        case Listing():
            parameters = {"page_size": case.page_size, "page_token": case.page_token}
            if case.category is None:
                url = f"{base}/categories?{urlencode(parameters)}"
            else:
                url = (
                    f"{base}/categories/{_segment(case.category)}/streams"
                    f"?{urlencode({**parameters, 'prefix': case.prefix})}"
                )
            answer = call("GET", url)
            assert answer.status == 400, answer.text
            body_json = answer.json
    assert body_json["code"] == "INVALID_ARGUMENT"
    return body_json["field"], body_json["rule"], body_json["message"]


FACES = {"grpc": grpc_answer, "http": http_answer}


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(("case", "path", "rule"), CASES, ids=IDS)
def test_bad_input_names_the_field_and_the_rule_and_writes_nothing(
    server: EventStoreServer, face: str, case: Publish | Read | Listing, path: str, rule: str
) -> None:
    field_path, rule_text, message = FACES[face](server, case)
    assert field_path == path
    assert rule in rule_text
    assert message == f"{path}: {rule_text}"
    assert call("GET", f"http://127.0.0.1:{server.http_port}/api/v1/info").json["events"] == 0


@pytest.mark.parametrize(("case", "path", "rule"), CASES, ids=IDS)
def test_both_faces_say_exactly_the_same(
    server: EventStoreServer, case: Publish | Read | Listing, path: str, rule: str
) -> None:
    assert grpc_answer(server, case) == http_answer(server, case)
