"""How the gRPC clients page through a group's parked events, transport-free."""

from datetime import UTC, datetime

from logicblocks.event.store.groups import ParkedEvent
from logicblocks.event.transport.groups_client import _ParkedListing
from logicblocks.event.transport.groups_wire import PARKED_PAGE, parked_event_to_wire
from logicblocks.event.v1 import consumer_groups_pb2 as pb


def parked(number: int) -> ParkedEvent:
    return ParkedEvent(
        sequence_number=number,
        event_id=f"e-{number}",
        category="orders",
        stream="o-1",
        position=number,
        partition=0,
        reason="no",
        attempts=1,
        parked_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def page(numbers: range, *, more: bool) -> pb.ListParkedEventsResponse:
    return pb.ListParkedEventsResponse(
        parked_events=[parked_event_to_wire(parked(n)) for n in numbers], more=more
    )


def test_each_request_resumes_after_the_last_event_and_asks_for_what_is_left() -> None:
    listing = _ParkedListing("g", 2, PARKED_PAGE + 1)
    first = listing.next_request()
    assert first is not None
    assert (first.after_sequence_number, first.limit) == (2, PARKED_PAGE)
    listing.take(page(range(3, 3 + PARKED_PAGE), more=True))
    second = listing.next_request()
    assert second is not None
    assert (second.after_sequence_number, second.limit) == (2 + PARKED_PAGE, 1)
    listing.take(page(range(3 + PARKED_PAGE, 4 + PARKED_PAGE), more=True))
    assert listing.next_request() is None
    assert [e.sequence_number for e in listing.events] == list(range(3, PARKED_PAGE + 4))


def test_an_empty_page_ends_the_listing_whatever_it_says() -> None:
    listing = _ParkedListing("g", None, None)
    listing.take(page(range(0), more=True))
    assert listing.next_request() is None


def test_a_server_that_sends_every_event_at_once_is_cut_to_what_was_asked() -> None:
    # A server from before paging ignores after_sequence_number and limit.
    listing = _ParkedListing("g", 5, 2)
    listing.take(page(range(10), more=False))
    assert [e.sequence_number for e in listing.events] == [6, 7]
    assert listing.next_request() is None
