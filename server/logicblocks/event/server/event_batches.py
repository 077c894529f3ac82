"""Batches of events for subscribers, each encoded once however many subscribers get it.

A live event reaches every caught-up subscriber of its target, so the work per delivered
event must be little more than a filter and a place in a message. The log tail encodes
each event once, as it reads it, into its bytes as one element of
``SubscribeResponse.Events.events`` (``frame``); a ``Subscribe`` message is then those
elements joined behind a two-part header, with no message objects built or serialized per
subscriber. The tail hands every subscriber that asks for the same events the same
``EventBatch`` (``LogTail.after``), which builds its messages on first use, so 50
subscribers of the log send one set of bytes 50 times.

The encoding is protobuf's own wire format: a message's repeated field is the
concatenation of its elements, each a tag (field number and wire type) and a length
before the element's bytes. The field numbers are read from the generated descriptors.
"""

from collections.abc import Iterator, Sequence
from typing import overload

from logicblocks.event.v1 import event_store_pb2, events_pb2

__all__ = ["EventBatch", "frame"]

# Protobuf's wire type of a length-delimited field (a message, bytes or a string).
_LENGTH_DELIMITED = 2


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append((value & 0x7F) | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def _tag(field_number: int) -> bytes:
    return _varint(field_number << 3 | _LENGTH_DELIMITED)


_EVENTS = _tag(event_store_pb2.SubscribeResponse.DESCRIPTOR.fields_by_name["events"].number)
_EVENT = _tag(event_store_pb2.SubscribeResponse.Events.DESCRIPTOR.fields_by_name["events"].number)


def frame(event: events_pb2.StoredEvent) -> bytes:
    """``event`` encoded as one element of ``SubscribeResponse.Events.events``."""
    body = event.SerializeToString()
    return _EVENT + _varint(len(body)) + body


def _message(framed: Sequence[bytes]) -> bytes:
    size = sum(map(len, framed))
    return b"".join((_EVENTS, _varint(size), *framed))


class EventBatch(Sequence[events_pb2.StoredEvent]):
    """Events of one target in sequence-number order, and the ``Subscribe`` messages that
    carry them.

    Made from the events (a page read from storage) or from their encodings by ``frame``
    (the tail keeps only those); either form is derived from the other on first use. The
    messages are built once per message size and kept with the batch, for every
    subscriber it is handed to.
    """

    __slots__ = ("_events", "_framed", "_messages")

    def __init__(
        self,
        events: Sequence[events_pb2.StoredEvent] | None = None,
        *,
        framed: Sequence[bytes] | None = None,
    ):
        if events is None and framed is None:
            raise ValueError("an EventBatch needs its events or their encodings")
        self._events = events
        self._framed = framed
        self._messages: tuple[int, list[bytes]] | None = None

    @property
    def events(self) -> Sequence[events_pb2.StoredEvent]:
        """The events as wire messages."""
        if self._events is None:
            assert self._framed is not None
            self._events = list(
                event_store_pb2.SubscribeResponse.Events.FromString(b"".join(self._framed)).events
            )
        return self._events

    def __len__(self) -> int:
        return len(self._framed) if self._framed is not None else len(self.events)

    @overload
    def __getitem__(self, index: int) -> events_pb2.StoredEvent: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[events_pb2.StoredEvent]: ...

    def __getitem__(
        self, index: int | slice
    ) -> events_pb2.StoredEvent | Sequence[events_pb2.StoredEvent]:
        return self.events[index]

    def __iter__(self) -> Iterator[events_pb2.StoredEvent]:
        return iter(self.events)

    def messages(self, message_bytes: int) -> list[bytes]:
        """The batch as serialized ``SubscribeResponse`` messages, in order, each closed
        once its encoded events reach ``message_bytes`` (one event at least)."""
        if self._messages is not None and self._messages[0] == message_bytes:
            return self._messages[1]
        if self._framed is None:
            self._framed = [frame(event) for event in self.events]
        messages: list[bytes] = []
        current: list[bytes] = []
        size = 0
        for element in self._framed:
            current.append(element)
            size += len(element)
            if size >= message_bytes:
                messages.append(_message(current))
                current, size = [], 0
        if current:
            messages.append(_message(current))
        self._messages = (message_bytes, messages)
        return messages
