"""A client subscription's progress, without a transport: where it resumes, what it
delivers once, when it reconnects and how long it waits first."""

import grpc
import pytest

from logicblocks.event.store.exceptions import StorageUnavailableError
from logicblocks.event.store.start import FROM_BEGINNING, FROM_END, After, ReadStart
from logicblocks.event.transport.subscription import RECONNECT_CODES, SubscriptionProgress
from logicblocks.event.types import identifier
from logicblocks.event.v1 import event_store_pb2, events_pb2

Response = event_store_pb2.SubscribeResponse


def progress(
    start: ReadStart = FROM_BEGINNING, heartbeat: float | None = None
) -> SubscriptionProgress:
    return SubscriptionProgress(target=identifier.Log(), start=start, heartbeat_interval=heartbeat)


def events(*sequence_numbers: int) -> Response:
    return Response(
        events=Response.Events(
            events=[
                events_pb2.StoredEvent(
                    id=f"e-{number}",
                    name="placed",
                    stream="o-1",
                    category="orders",
                    position=number,
                    sequence_number=number,
                    payload=b"{}",
                )
                for number in sequence_numbers
            ]
        )
    )


def caught_up(head: int | None) -> Response:
    return Response(caught_up=Response.CaughtUp(head=head))


def heartbeat(head: int | None) -> Response:
    return Response(heartbeat=Response.Heartbeat(head=head))


def drain(subscription: SubscriptionProgress) -> list[int]:
    delivered = []
    while (event := subscription.pop()) is not None:
        delivered.append(event.sequence_number)
    return delivered


def resumes_after(subscription: SubscriptionProgress) -> int | None:
    """The sequence number the next request resumes after; ``None`` for "the end"."""
    request = subscription.request()
    return None if request.HasField("end") else request.after_sequence_number


@pytest.mark.parametrize(
    ("start", "after"), [(FROM_BEGINNING, -1), (After(5), 5), (FROM_END, None)]
)
def test_the_first_request_asks_for_the_start(start: ReadStart, after: int | None) -> None:
    assert resumes_after(progress(start)) == after


def test_a_from_end_subscription_asks_for_the_end_until_it_has_caught_up() -> None:
    subscription = progress(FROM_END)
    subscription.receive(caught_up(None))
    # The store was empty at the end: every event since came after it.
    assert subscription.caught_up and resumes_after(subscription) == -1
    subscription = progress(FROM_END)
    subscription.receive(caught_up(7))
    assert subscription.caught_up and resumes_after(subscription) == 7


def test_events_are_delivered_once_in_order_and_move_the_checkpoint() -> None:
    subscription = progress()
    subscription.receive(events(0, 1, 2))
    assert subscription.checkpoint == -1  # received is not delivered
    assert drain(subscription) == [0, 1, 2]
    assert subscription.checkpoint == 2
    # A reconnection resends from the checkpoint; anything at or below it is dropped.
    subscription.receive(events(1, 2, 3))
    assert drain(subscription) == [3]
    assert resumes_after(subscription) == 3


def test_a_reconnection_resumes_after_the_last_event_delivered_not_received() -> None:
    subscription = progress()
    subscription.receive(events(0, 1, 2))
    assert subscription.pop() is not None
    assert resumes_after(subscription) == 0
    assert drain(subscription) == [1, 2]


def test_a_head_moves_the_checkpoint_only_once_everything_received_is_delivered() -> None:
    subscription = progress()
    subscription.receive(events(0, 1))
    subscription.receive(caught_up(4))
    assert subscription.checkpoint == -1
    assert drain(subscription) == [0, 1]
    subscription.receive(heartbeat(9))
    assert subscription.checkpoint == 9
    subscription.receive(heartbeat(None))  # an empty store has no head: nothing moves
    assert subscription.checkpoint == 9


def test_the_heartbeat_interval_is_asked_for_on_every_request() -> None:
    assert not progress().request().HasField("heartbeat_interval")
    request = progress(heartbeat=1.5).request()
    assert request.heartbeat_interval.ToNanoseconds() == 1_500_000_000


@pytest.mark.parametrize("code", sorted(RECONNECT_CODES - {grpc.StatusCode.UNKNOWN}, key=str))
def test_a_lost_connection_is_reconnected_for_ever(code: grpc.StatusCode) -> None:
    subscription = progress()
    assert all(subscription.should_reconnect(code) for _ in range(50))


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ],
)
def test_a_refused_request_is_reported_not_retried(code: grpc.StatusCode) -> None:
    assert not progress().should_reconnect(code)


def test_unknown_is_retried_five_times_in_a_row_then_reported() -> None:
    subscription = progress()
    assert [subscription.should_reconnect(grpc.StatusCode.UNKNOWN) for _ in range(6)] == [
        True
    ] * 5 + [False]
    # A response in between proves the server works: the count starts again.
    subscription = progress()
    for _ in range(5):
        assert subscription.should_reconnect(grpc.StatusCode.UNKNOWN)
        subscription.receive(heartbeat(None))
    assert subscription.should_reconnect(grpc.StatusCode.UNKNOWN)


def test_reconnections_back_off_and_a_response_resets_the_wait() -> None:
    subscription = progress()
    first = subscription.next_delay()
    later = [subscription.next_delay() for _ in range(4)][-1]
    # 50 ms with jitter of half, then doubling: the fifth wait is 0.4-1.2 s.
    assert 0.025 <= first < 0.075
    assert 0.4 <= later < 1.2
    subscription.receive(heartbeat(None))
    assert 0.025 <= subscription.next_delay() < 0.075


class Unreachable(grpc.RpcError):
    """The failure a call to a server nobody answers for ends with."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "failed to connect to all addresses"


def documented(error: grpc.RpcError) -> Exception:
    return StorageUnavailableError(f"unavailable: {error.details()}")


def bounded(seconds: float | None, now: list[float]) -> SubscriptionProgress:
    return SubscriptionProgress(
        target=identifier.Log(),
        start=FROM_BEGINNING,
        heartbeat_interval=None,
        max_reconnect_seconds=seconds,
        clock=lambda: now[0],
    )


def test_failed_reconnections_are_logged_as_the_run_grows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    subscription = bounded(None, now)
    with caplog.at_level("WARNING", logger="logicblocks.event.transport.subscription"):
        for _ in range(40):
            now[0] += subscription.retry_delay(Unreachable(), documented)
    failures = [record.getMessage().split()[2] for record in caplog.records]
    assert failures == ["failures=5", "failures=10", "failures=20", "failures=40"]
    assert "code=UNAVAILABLE details=failed to connect to all addresses" in caplog.text


def test_reconnections_stop_at_the_bound_and_a_response_restarts_it() -> None:
    now = [0.0]
    subscription = bounded(3.0, now)
    delays = []
    with pytest.raises(StorageUnavailableError) as raised:
        while True:
            delays.append(subscription.retry_delay(Unreachable(), documented))
            now[0] += delays[-1]
            if len(delays) == 3:
                # A response proves the server reachable: the run of failures starts again.
                subscription.receive(heartbeat(None))
                start = now[0]
    assert now[0] - start == pytest.approx(3.0)  # the last wait ends at the bound, not past it
    assert "attempts to reach the server failed in 3.0 s (max_reconnect_seconds=3)" in str(
        raised.value
    )
    assert "unavailable: failed to connect to all addresses" in str(raised.value)


def test_an_unbounded_subscription_keeps_reconnecting() -> None:
    now = [0.0]
    subscription = bounded(None, now)
    for _ in range(200):
        now[0] += subscription.retry_delay(Unreachable(), documented)
    assert now[0] > 600
