"""The server's limits, without a server: each refusal names the field by its path from the
request's root and the limit it broke, and the slots of long-lived calls are counted per
server and per connection and given back however the call ends."""

import sys
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import fields
from typing import Any

import pytest

from logicblocks.event.server.limits import (
    ConcurrencyLimitError,
    Limits,
    ScanSlots,
    Slots,
    SubscriptionSlots,
)
from logicblocks.event.store import ConfigurationError, InvalidInputError
from logicblocks.event.v1 import event_store_pb2, events_pb2, targets_pb2

LIMITS = Limits(max_name_length=8, max_events_per_publish=3, max_payload_bytes=16)


def publish(**fields: Any) -> event_store_pb2.PublishRequest:
    arguments: dict[str, Any] = {
        "target": targets_pb2.Stream(category="orders", stream="o-1"),
        "events": [events_pb2.NewEvent(name="placed", payload=b"{}")],
    } | fields
    return event_store_pb2.PublishRequest(**arguments)


def events(*events: events_pb2.NewEvent) -> list[events_pb2.NewEvent]:
    """A publish's events: a valid first one, then ``events`` (so indexes are not all 0)."""
    return [events_pb2.NewEvent(name="placed", payload=b"{}"), *events]


def refusal_of_publish(request: event_store_pb2.PublishRequest) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as raised:
        LIMITS.check_publish(request)
    return raised.value


def refusal_of_target(target: targets_pb2.Target) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as raised:
        LIMITS.check_target(target)
    return raised.value


def publish_with_name(path: str, name: str) -> event_store_pb2.PublishRequest:
    """A publish whose field at ``path`` holds ``name`` and is otherwise valid."""
    match path:
        case "target.category":
            return publish(target=targets_pb2.Stream(category=name, stream="o-1"))
        case "target.stream":
            return publish(target=targets_pb2.Stream(category="orders", stream=name))
        case "events[1].name":
            return publish(events=events(events_pb2.NewEvent(name=name, payload=b"{}")))
        case "events[1].id":
            return publish(
                events=events(events_pb2.NewEvent(name="placed", id=name, payload=b"{}"))
            )
    raise AssertionError(path)


def target_with_name(path: str, name: str) -> targets_pb2.Target:
    """A scan or subscribe target whose field at ``path`` holds ``name``."""
    match path:
        case "target.category.category":
            return targets_pb2.Target(category=targets_pb2.Category(category=name))
        case "target.stream.category":
            return targets_pb2.Target(stream=targets_pb2.Stream(category=name, stream="o-1"))
        case "target.stream.stream":
            return targets_pb2.Target(stream=targets_pb2.Stream(category="orders", stream=name))
    raise AssertionError(path)


PUBLISH_NAMES = ["target.category", "target.stream", "events[1].name", "events[1].id"]
TARGET_NAMES = ["target.category.category", "target.stream.category", "target.stream.stream"]


@pytest.mark.parametrize("path", PUBLISH_NAMES)
def test_a_publish_name_of_max_name_length_is_accepted_and_one_longer_refused(
    path: str,
) -> None:
    # Counted in characters, not bytes: eight two-byte characters are within eight.
    LIMITS.check_publish(publish_with_name(path, "é" * 8))

    error = refusal_of_publish(publish_with_name(path, "é" * 9))

    assert error.field == path
    assert "max_name_length" in error.rule
    assert "8" in error.rule


@pytest.mark.parametrize("path", TARGET_NAMES)
def test_a_target_name_of_max_name_length_is_accepted_and_one_longer_refused(
    path: str,
) -> None:
    LIMITS.check_target(target_with_name(path, "x" * 8))

    error = refusal_of_target(target_with_name(path, "x" * 9))

    assert error.field == path
    assert "max_name_length" in error.rule


@pytest.mark.parametrize(
    "character", ["\x00", "\n", "\x1b", "\x7f", "\x85"], ids=["NUL", "LF", "ESC", "DEL", "NEL"]
)
@pytest.mark.parametrize("path", PUBLISH_NAMES)
def test_a_publish_name_with_a_control_character_is_refused(path: str, character: str) -> None:
    error = refusal_of_publish(publish_with_name(path, f"a{character}b"))

    assert error.field == path
    assert f"U+{ord(character):04X}" in error.rule


@pytest.mark.parametrize("path", TARGET_NAMES)
def test_a_target_name_with_a_control_character_is_refused(path: str) -> None:
    error = refusal_of_target(target_with_name(path, "a\tb"))

    assert error.field == path
    assert "control characters" in error.rule


def test_exactly_unicodes_control_characters_are_refused_in_names() -> None:
    refused = set()
    for code in range(sys.maxunicode + 1):
        try:
            LIMITS.check_name("name", chr(code))
        except InvalidInputError:
            refused.add(code)
    control = {
        code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cc"
    }
    assert refused == control


def test_printable_unicode_names_are_accepted() -> None:
    LIMITS.check_publish(publish_with_name("events[1].name", "注文 ✓"))
    LIMITS.check_target(target_with_name("target.stream.stream", "o-1 ü"))


def test_a_log_target_has_no_names_to_check() -> None:
    LIMITS.check_target(targets_pb2.Target(log=targets_pb2.Log()))


def test_a_publish_of_max_events_per_publish_is_accepted_and_one_more_refused() -> None:
    event = events_pb2.NewEvent(name="placed", payload=b"{}")
    LIMITS.check_publish(publish(events=[event] * 3))

    error = refusal_of_publish(publish(events=[event] * 4))

    assert error.field == "events"
    assert "max_events_per_publish" in error.rule
    assert "got 4" in error.rule


def test_a_payload_of_max_payload_bytes_is_accepted_and_one_byte_more_refused() -> None:
    def payload(size: int) -> events_pb2.NewEvent:
        return events_pb2.NewEvent(name="placed", payload=b'"' + b"x" * (size - 2) + b'"')

    LIMITS.check_publish(publish(events=events(payload(16))))

    error = refusal_of_publish(publish(events=events(payload(17))))

    assert error.field == "events[1].payload"
    assert "max_payload_bytes" in error.rule
    assert "got 17" in error.rule


def test_an_unset_event_id_is_not_checked_as_a_name() -> None:
    LIMITS.check_publish(publish(events=events(events_pb2.NewEvent(name="placed"))))


@pytest.mark.parametrize("name", [field.name for field in fields(Limits)])
def test_every_limit_refuses_values_below_one(name: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Limits(**{name: 0})
    assert (raised.value.field, str(raised.value)) == (name, f"{name}: must be at least 1")

    assert getattr(Limits(**{name: 1}), name) == 1


SLOT_LIMITS = Limits(
    max_scans=3,
    max_scans_per_connection=2,
    max_subscriptions=3,
    max_subscriptions_per_connection=2,
)


@pytest.fixture(params=["scans", "subscriptions"])
def slots(request: pytest.FixtureRequest) -> Iterator[Slots]:
    kind = ScanSlots if request.param == "scans" else SubscriptionSlots
    yield kind(SLOT_LIMITS)


def limit_names(slots: Slots) -> tuple[str, str]:
    kind = "scans" if isinstance(slots, ScanSlots) else "subscriptions"
    return f"max_{kind}", f"max_{kind}_per_connection"


def test_a_connection_over_its_cap_is_refused_naming_the_limit(slots: Slots) -> None:
    _, per_connection = limit_names(slots)
    with ExitStack() as held:
        held.enter_context(slots.hold("peer-a"))
        held.enter_context(slots.hold("peer-a"))

        with pytest.raises(ConcurrencyLimitError) as raised, slots.hold("peer-a"):
            pass

        assert raised.value.limit == per_connection
        assert raised.value.value == 2
        assert f"{per_connection}=2" in str(raised.value)
        # Another connection still gets one: the cap is per connection.
        with slots.hold("peer-b"):
            assert slots.in_use == 3


def test_the_server_over_its_cap_is_refused_naming_the_limit(slots: Slots) -> None:
    per_server, _ = limit_names(slots)
    with ExitStack() as held:
        for peer in ("peer-a", "peer-b", "peer-c"):
            held.enter_context(slots.hold(peer))

        with pytest.raises(ConcurrencyLimitError) as raised, slots.hold("peer-d"):
            pass

        assert raised.value.limit == per_server
        assert f"{per_server}=3" in str(raised.value)
        assert "retry later" in str(raised.value)
        # A refusal takes no slot.
        assert slots.in_use == 3


def test_a_slot_is_freed_when_its_holder_exits(slots: Slots) -> None:
    with slots.hold("peer-a"), slots.hold("peer-a"):
        pass

    assert slots.in_use == 0
    with slots.hold("peer-a"), slots.hold("peer-a"):
        assert slots.in_use == 2


def test_a_slot_is_freed_when_its_holder_fails(slots: Slots) -> None:
    for _ in range(3):
        with pytest.raises(RuntimeError), slots.hold("peer-a"):
            raise RuntimeError("the call failed")

    assert slots.in_use == 0
    with slots.hold("peer-a"), slots.hold("peer-a"):
        assert slots.in_use == 2


def test_a_connection_holding_no_slot_is_forgotten(slots: Slots) -> None:
    # A server sees connections come and go all its life: their counts must not pile up.
    for number in range(100):
        with slots.hold(f"peer-{number}"):
            pass

    assert slots.in_use == 0
    assert not slots._per_peer


def test_slots_of_another_kind_name_their_own_limits() -> None:
    # As the health servicer counts its Watch streams.
    watches = Slots(
        "health watches",
        Limits(max_health_watches_per_connection=1),
        "max_health_watches",
        "max_health_watches_per_connection",
    )

    with (
        pytest.raises(ConcurrencyLimitError) as raised,
        watches.hold("peer-a"),
        watches.hold("peer-a"),
    ):
        pass

    assert raised.value.limit == "max_health_watches_per_connection"
    assert "too many concurrent health watches" in str(raised.value)
