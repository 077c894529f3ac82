"""ListCategories, ListStreams and GetInfo on a real server, through the generated stubs."""

from collections.abc import Iterator

import grpc
import pytest

from logicblocks.event.server.auth import Access
from logicblocks.event.server.version import version
from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import InMemoryStorageAdapter
from logicblocks.event.types import NewEvent
from logicblocks.event.v1 import event_store_pb2, event_store_pb2_grpc
from tests.support.grpc_server import running_server

STREAMS = 10_000
READER = "reader-7c41e0a5d2b9"


def _events(stream: int) -> int:
    """How many events stream ``stream`` holds: varied, so counts cannot come out alike."""
    return stream % 3 + 1


def _name(stream: int) -> str:
    # Unpadded numbers, so name order differs from number order ("s-10" before "s-2").
    return f"s-{stream}"


@pytest.fixture(scope="module")
def adapter() -> InMemoryStorageAdapter:
    adapter = InMemoryStorageAdapter()
    store = EventStore(adapter)
    for stream in range(STREAMS):
        store.stream(category="orders", stream=_name(stream)).publish(
            events=[NewEvent(name="placed", payload={"n": stream})] * _events(stream)
        )
    store.stream(category="users", stream="u-1").publish(
        events=[NewEvent(name="joined", payload={})]
    )
    return adapter


@pytest.fixture(scope="module")
def stub(adapter: InMemoryStorageAdapter) -> Iterator[event_store_pb2_grpc.EventStoreStub]:
    tokens = {READER: Access.READ_ONLY}
    with (
        running_server(adapter, tokens=tokens) as target,
        grpc.insecure_channel(target) as channel,
    ):
        yield event_store_pb2_grpc.EventStoreStub(channel)


AUTH = (("authorization", f"Bearer {READER}"),)


def _list_all(
    stub: event_store_pb2_grpc.EventStoreStub, page_size: int, prefix: str = ""
) -> tuple[list[event_store_pb2.ListStreamsResponse.Stream], int]:
    streams: list[event_store_pb2.ListStreamsResponse.Stream] = []
    token = ""
    pages = 0
    while True:
        page = stub.ListStreams(
            event_store_pb2.ListStreamsRequest(
                category="orders", prefix=prefix, page_size=page_size, page_token=token
            ),
            metadata=AUTH,
            timeout=30,
        )
        pages += 1
        assert len(page.streams) <= page_size
        streams += page.streams
        token = page.next_page_token
        if not token:
            return streams, pages


@pytest.mark.parametrize("page_size", [1000, 333])
def test_a_category_of_ten_thousand_streams_pages_every_stream_once_in_order(
    stub: event_store_pb2_grpc.EventStoreStub, adapter: InMemoryStorageAdapter, page_size: int
) -> None:
    streams, pages = _list_all(stub, page_size)

    expected = sorted(range(STREAMS), key=_name)
    assert [stream.stream for stream in streams] == [_name(n) for n in expected]
    assert pages == -(-STREAMS // page_size)
    by_name = {_name(n): n for n in range(STREAMS)}
    last_events = {
        (record.stream): record for record in adapter.read_records() if record.category == "orders"
    }
    for stream in streams:
        number = by_name[stream.stream]
        last = last_events[stream.stream]
        assert (stream.events, stream.last_position) == (_events(number), _events(number) - 1)
        assert stream.last_sequence_number == last.sequence_number
        assert (
            stream.last_observed_at.ToDatetime().replace(tzinfo=last.observed_at.tzinfo)
            == last.observed_at
        )


def test_the_default_page_is_a_hundred_streams(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    page = stub.ListStreams(
        event_store_pb2.ListStreamsRequest(category="orders"), metadata=AUTH, timeout=10
    )
    assert len(page.streams) == 100
    assert page.next_page_token


def test_a_prefix_lists_only_the_streams_starting_with_it(
    stub: event_store_pb2_grpc.EventStoreStub,
) -> None:
    streams, _ = _list_all(stub, 7, prefix="s-99")
    expected = sorted(_name(n) for n in range(STREAMS) if _name(n).startswith("s-99"))
    assert [stream.stream for stream in streams] == expected
    assert len(expected) == 111  # s-99, s-990 ... s-999, s-9900 ... s-9999


def test_categories_carry_their_counts(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    first = stub.ListCategories(
        event_store_pb2.ListCategoriesRequest(page_size=1), metadata=AUTH, timeout=10
    )
    second = stub.ListCategories(
        event_store_pb2.ListCategoriesRequest(page_size=1, page_token=first.next_page_token),
        metadata=AUTH,
        timeout=10,
    )
    orders_events = sum(_events(n) for n in range(STREAMS))
    assert [
        (c.category, c.streams, c.events, c.last_sequence_number) for c in first.categories
    ] == [("orders", STREAMS, orders_events, orders_events - 1)]
    assert [(c.category, c.streams, c.events) for c in second.categories] == [("users", 1, 1)]
    assert second.next_page_token == ""


def test_get_info_reports_the_store(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    info = stub.GetInfo(event_store_pb2.GetInfoRequest(), metadata=AUTH, timeout=10)
    events = sum(_events(n) for n in range(STREAMS)) + 1
    assert (info.server_version, info.storage) == (version(), "memory")
    assert (info.head, info.categories, info.streams, info.events) == (
        events - 1,
        2,
        STREAMS + 1,
        events,
    )


def test_get_info_of_an_empty_store_leaves_the_head_unset() -> None:
    with (
        running_server(InMemoryStorageAdapter()) as target,
        grpc.insecure_channel(target) as channel,
    ):
        info = event_store_pb2_grpc.EventStoreStub(channel).GetInfo(
            event_store_pb2.GetInfoRequest(), timeout=10
        )
    assert not info.HasField("head")
    assert (info.categories, info.streams, info.events) == (0, 0, 0)


def test_listing_needs_a_token(stub: event_store_pb2_grpc.EventStoreStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetInfo(event_store_pb2.GetInfoRequest(), timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
