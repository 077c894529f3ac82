"""What a gRPC group consumer sends between messages: gathered acks and the credit given
back, transport-free."""

import queue

from logicblocks.event.transport.consume_session import (
    ACK_DELAY,
    ConsumeSession,
    Outgoing,
    Settlements,
)
from logicblocks.event.transport.consumer import _requests
from logicblocks.event.v1 import consumer_groups_pb2 as pb


def test_credit_goes_out_in_the_ack_of_the_acks_gathered_with_it() -> None:
    settlements = Settlements()
    assert not settlements.pending
    assert settlements.grant(3)
    assert settlements.pending
    assert settlements.add(7) == 1
    assert not settlements.grant(2)
    request = settlements.take()
    assert (list(request.ack.delivery_ids), request.ack.credit) == ([7], 5)
    assert not settlements.pending
    assert settlements.due_in(0.0) is None


def test_credit_alone_is_a_batch_to_send() -> None:
    settlements = Settlements()
    settlements.grant(4)
    assert settlements.due_in(0.0) == 0.0
    request = settlements.take()
    assert (list(request.ack.delivery_ids), request.ack.credit) == ([], 4)


def joined_session(credit: int) -> ConsumeSession:
    session = ConsumeSession(group="g", consumer_id=None, credit=credit, settle=lambda *_: None)
    session.receive(pb.ConsumeResponse(joined={"consumer_id": "c", "ack_credit": True}))
    return session


def delivered(session: ConsumeSession, count: int) -> None:
    session.receive(
        pb.ConsumeResponse(
            deliveries={
                "deliveries": [
                    {"delivery_id": n, "attempt": 1, "event": {"payload": b"{}"}}
                    for n in range(count)
                ]
            }
        )
    )


def test_a_session_learns_on_joining_whether_acks_carry_credit() -> None:
    assert joined_session(10).ack_credit
    session = ConsumeSession(group="g", consumer_id=None, credit=10, settle=lambda *_: None)
    session.receive(pb.ConsumeResponse(joined={"consumer_id": "c"}))
    assert not session.ack_credit


def test_credit_is_given_back_by_halves_while_deliveries_wait() -> None:
    session = joined_session(10)
    delivered(session, 10)
    for _ in range(4):
        session.pop()
    assert session.credit_due() is None
    session.pop()
    assert session.credit_due() == 5


def test_credit_is_given_back_at_once_before_waiting_when_the_server_is_short() -> None:
    session = joined_session(10)
    delivered(session, 7)
    for _ in range(7):
        session.pop()
    # The buffer is empty and the server has 3 of 10 left: all that was freed goes now.
    assert session.credit_due() == 7


def test_leaving_gives_back_the_buffer_and_everything_after_the_last_read() -> None:
    session = joined_session(10)
    delivered(session, 3)  # delivery ids 0, 1, 2
    handed = session.pop()
    assert handed is not None
    request = session.give_back()
    assert request is not None
    assert (list(request.give_back.delivery_ids), request.give_back.received_through) == (
        [1, 2],
        2,
    )
    assert session.pop() is None  # given back: never handed out after


def test_nothing_is_given_back_before_joining() -> None:
    session = ConsumeSession(group="g", consumer_id=None, credit=10, settle=lambda *_: None)
    assert session.give_back() is None


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _sent(acks_due: bool) -> list[str]:
    """What the blocking consumer's request stream sends after the join, with one ack
    gathered and two nacks queued behind it (then the half-close): each message's kind."""
    clock = _Clock()
    settlements = Settlements(clock=clock)
    outbox: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
    join = pb.ConsumeRequest(join={"group": "g", "credit": 10})
    requests = _requests(join, outbox, settlements)
    assert next(requests) is join
    settlements.add(7)
    if acks_due:
        clock.now += ACK_DELAY
    for delivery_id in (1, 2):
        outbox.put(pb.ConsumeRequest(nack={"delivery_id": delivery_id, "reason": "r"}))
    outbox.put(None)
    return [str(request.WhichOneof("content")) for request in requests]


def test_acks_go_out_once_due_however_busy_the_outbox_is() -> None:
    # Nacks (or credit) queued one after another must not hold acks past ACK_DELAY, which
    # is far below any ack timeout.
    assert _sent(acks_due=True) == ["nack", "ack", "nack"]


def test_acks_not_yet_due_wait_to_go_with_the_next_ones() -> None:
    assert _sent(acks_due=False) == ["nack", "nack", "ack"]
