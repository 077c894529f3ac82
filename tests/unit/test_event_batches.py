"""``EventBatch``: subscription messages encoded by hand from each event's bytes must be the
messages protobuf itself would build, grouped under the message size, built once."""

from logicblocks.event.server.event_batches import EventBatch, frame
from logicblocks.event.v1 import event_store_pb2, events_pb2


def event(sequence_number: int, payload_size: int) -> events_pb2.StoredEvent:
    return events_pb2.StoredEvent(
        id=f"e-{sequence_number}",
        name="placed",
        stream="o-1",
        category="orders",
        sequence_number=sequence_number,
        payload=b'"' + b"x" * payload_size + b'"',
    )


# Encoded lengths of one, two and three bytes.
EVENTS = [event(n, size) for n, size in enumerate([10, 200, 20_000, 5])]


def protobuf_message(events: list[events_pb2.StoredEvent]) -> bytes:
    return event_store_pb2.SubscribeResponse(
        events=event_store_pb2.SubscribeResponse.Events(events=events)
    ).SerializeToString()


def test_one_message_is_what_protobuf_serializes() -> None:
    assert EventBatch(EVENTS).messages(1 << 20) == [protobuf_message(EVENTS)]


def test_a_batch_of_encodings_gives_back_the_events_and_the_same_message() -> None:
    batch = EventBatch(framed=[frame(e) for e in EVENTS])

    assert list(batch) == EVENTS
    assert len(batch) == 4
    assert batch[-1].sequence_number == 3
    assert batch.messages(1 << 20) == [protobuf_message(EVENTS)]


def test_messages_close_once_they_reach_the_size_and_hold_one_event_at_least() -> None:
    sizes = [len(frame(e)) for e in EVENTS]
    limit = sizes[0] + sizes[1]

    messages = EventBatch(EVENTS).messages(limit)

    assert messages == [
        protobuf_message(EVENTS[:2]),
        protobuf_message(EVENTS[2:3]),
        protobuf_message(EVENTS[3:]),
    ]


def test_the_messages_are_built_once_per_size() -> None:
    batch = EventBatch(EVENTS)

    assert batch.messages(100) is batch.messages(100)
    assert batch.messages(1 << 20) == [protobuf_message(EVENTS)]
