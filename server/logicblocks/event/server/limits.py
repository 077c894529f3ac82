"""The server's limits on requests and subscriptions, with their defaults and checks.

Every limit is a field of ``Limits``; the command line offers each as ``--max-...`` and
``EVENT_STORE_MAX_...``. Bad input (names, counts, sizes) is ``INVALID_ARGUMENT`` naming
the field and the limit; running out of scans, subscriptions or health watches is
``RESOURCE_EXHAUSTED``. The connection limits are gRPC's own: a connection over
``max_connections`` is closed as soon as it is accepted. Requests
larger than ``max_request_bytes`` never reach a handler: gRPC itself rejects them with
``RESOURCE_EXHAUSTED``.
"""

import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

from logicblocks.event.store import ConfigurationError, InvalidInputError
from logicblocks.event.v1 import conditions_pb2, event_store_pb2, events_pb2, targets_pb2

__all__ = [
    "DEFAULT_LIMITS",
    "ConcurrencyLimitError",
    "Limits",
    "OverLimitError",
    "ScanSlots",
    "Slots",
    "SubscriptionSlots",
]

_MIB = 1024 * 1024
# Unicode's control characters, its general category Cc: C0, DEL and C1. The standard's
# stability policy fixes the category's members, so one search in C finds the first.
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")


class ConcurrencyLimitError(Exception):
    """A long-lived call was refused: the server or the connection holds too many of its kind."""

    def __init__(self, what: str, limit: str, value: int):
        super().__init__(f"too many concurrent {what} (limit {limit}={value}): retry later")
        self.limit = limit
        self.value = value


class OverLimitError(InvalidInputError):
    """A publish over a size limit (events per publish, payload bytes): invalid input
    like any other over gRPC, and ``413 Content Too Large`` over HTTP."""


@dataclass(frozen=True)
class Limits:
    """What one server accepts; the defaults are the ones written in the README."""

    max_events_per_publish: int = 10_000
    max_payload_bytes: int = 1 * _MIB
    max_request_bytes: int = 16 * _MIB
    max_name_length: int = 200
    max_subscriptions: int = 1000
    max_subscriptions_per_connection: int = 100
    # Scans in progress. A scan whose reader stalls holds one page (about a MiB of
    # payload) and one message until it reads on or goes away: these caps bound that.
    max_scans: int = 64
    max_scans_per_connection: int = 16
    # Health Watch streams are open to callers without a token, so they need a cap of
    # their own.
    max_health_watches: int = 1000
    max_health_watches_per_connection: int = 10
    # Connections: a cap on open ones, and how long one may sit before it is closed
    # without finishing its handshake (TCP or TLS, then HTTP/2 settings) or without a call.
    max_connections: int = 2000
    max_handshake_seconds: int = 10
    max_connection_idle_seconds: int = 60

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 1:
                raise ConfigurationError("must be at least 1", field=field.name)

    def check_name(self, field: str, value: str) -> None:
        """Reject a category, stream, event name or id too long or holding control characters.

        Empty names are left to the storage rules (records.py), which say so in their terms.
        """
        rule = self._name_rule_broken(value)
        if rule is not None:
            raise InvalidInputError(field, rule)

    def _name_rule_broken(self, value: str) -> str | None:
        """The rule of ``check_name`` that ``value`` breaks (None: none); the field's path
        is only made for an error."""
        if len(value) > self.max_name_length:
            return f"must be at most {self.max_name_length} characters (max_name_length)"
        # Control characters (C0, DEL, C1) break logs, terminals and URLs built from names.
        found = _CONTROL_CHARACTER.search(value)
        if found is not None:
            return f"must not contain control characters (found U+{ord(found.group()):04X})"
        return None

    def check_target(self, target: targets_pb2.Target) -> None:
        """Check the names of a scan or subscribe target."""
        kind = target.WhichOneof("target")
        if kind == "category":
            self.check_name("target.category.category", target.category.category)
        elif kind == "stream":
            self.check_name("target.stream.category", target.stream.category)
            self.check_name("target.stream.stream", target.stream.stream)
        elif kind == "query":
            self._check_query("target.query", target.query)

    def _check_query(self, field: str, query: targets_pb2.Query) -> None:
        for index, item in enumerate(query.items):
            path = f"{field}.items[{index}]"
            if item.HasField("category"):
                self.check_name(f"{path}.category", item.category)
            if item.HasField("stream"):
                self.check_name(f"{path}.stream", item.stream)
            for part, values in (("names", item.names), ("tags", item.tags)):
                for position, value in enumerate(values):
                    self.check_name(f"{path}.{part}[{position}]", value)

    def _check_conditions(
        self, field: str, conditions: Iterable[conditions_pb2.WriteCondition]
    ) -> None:
        for index, condition in enumerate(conditions):
            path = f"{field}[{index}]"
            kind = condition.WhichOneof("condition")
            if kind == "no_event_matches":
                self._check_query(
                    f"{path}.no_event_matches.query", condition.no_event_matches.query
                )
            elif kind == "all_of":
                self._check_conditions(f"{path}.all_of.conditions", condition.all_of.conditions)
            elif kind == "any_of":
                self._check_conditions(f"{path}.any_of.conditions", condition.any_of.conditions)

    def check_publish(self, request: event_store_pb2.PublishRequest) -> None:
        """Check a publish against every limit before anything is decoded or written: one
        stream's or several (``writes``), whose events count together."""
        self.check_name("target.category", request.target.category)
        self.check_name("target.stream", request.target.stream)
        total = len(request.events) + sum(len(write.events) for write in request.writes)
        if total > self.max_events_per_publish:
            raise OverLimitError(
                "events" if not request.writes else "writes",
                f"must hold at most {self.max_events_per_publish} events "
                f"(max_events_per_publish; got {total})",
            )
        self._check_events("", request.events)
        self._check_conditions("conditions", request.conditions)
        for index, write in enumerate(request.writes):
            field = f"writes[{index}]."
            self.check_name(f"{field}target.category", write.target.category)
            self.check_name(f"{field}target.stream", write.target.stream)
            self._check_events(field, write.events)
            self._check_conditions(f"{field}conditions", write.conditions)

    def _check_events(self, field: str, events: Iterable[events_pb2.NewEvent]) -> None:
        name_rule_broken = self._name_rule_broken
        for index, event in enumerate(events):
            path = f"{field}events[{index}]"
            rule = name_rule_broken(event.name)
            if rule is not None:
                raise InvalidInputError(f"{path}.name", rule)
            if event.HasField("id"):
                rule = name_rule_broken(event.id)
                if rule is not None:
                    raise InvalidInputError(f"{path}.id", rule)
            for position, tag in enumerate(event.tags):
                rule = name_rule_broken(tag)
                if rule is not None:
                    raise InvalidInputError(f"{path}.tags[{position}]", rule)
            for part, size in (("payload", len(event.payload)), ("metadata", len(event.metadata))):
                if size > self.max_payload_bytes:
                    raise OverLimitError(
                        f"{path}.{part}",
                        f"must be at most {self.max_payload_bytes} bytes "
                        f"(max_payload_bytes; got {size})",
                    )


DEFAULT_LIMITS = Limits()


class Slots:
    """Counts live calls of one kind per server and per connection, refusing those over limit.

    ``limit`` and ``per_connection_limit`` name fields of ``limits``; errors quote them.
    """

    def __init__(self, what: str, limits: Limits, limit: str, per_connection_limit: str):
        self._what = what
        self._limit = (limit, getattr(limits, limit))
        self._per_connection_limit = (per_connection_limit, getattr(limits, per_connection_limit))
        self._lock = threading.Lock()
        self._total = 0
        self._per_peer: Counter[str] = Counter()

    @property
    def in_use(self) -> int:
        """How many calls hold a slot now."""
        return self._total

    @contextmanager
    def hold(self, peer: str) -> Iterator[None]:
        """Hold a slot for a call from ``peer`` (its connection) while inside."""
        with self._lock:
            for (name, value), used in (
                (self._limit, self._total),
                (self._per_connection_limit, self._per_peer[peer]),
            ):
                if used >= value:
                    raise ConcurrencyLimitError(self._what, name, value)
            self._total += 1
            self._per_peer[peer] += 1
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1
                self._per_peer[peer] -= 1
                if self._per_peer[peer] <= 0:
                    del self._per_peer[peer]


class ScanSlots(Slots):
    """Slots for scans in progress (``max_scans``, ``max_scans_per_connection``)."""

    def __init__(self, limits: Limits):
        super().__init__("scans", limits, "max_scans", "max_scans_per_connection")


class SubscriptionSlots(Slots):
    """Slots for live subscriptions (``max_subscriptions``, ``..._per_connection``)."""

    def __init__(self, limits: Limits):
        super().__init__(
            "subscriptions", limits, "max_subscriptions", "max_subscriptions_per_connection"
        )
