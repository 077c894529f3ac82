"""What a gRPC group consumer sends between messages: gathered acks and the credit given
back, transport-free."""

from logicblocks.event.transport.consume_session import ConsumeSession, Settlements
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
