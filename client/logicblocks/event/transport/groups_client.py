"""The consumer group methods of both gRPC clients, over ``ConsumerGroupService``.

``GrpcGroupMethods`` gives ``GrpcStorageAdapter`` the ``StorageAdapter`` group methods;
``AsyncGrpcGroupMethods`` gives ``AsyncGrpcStorageAdapter`` the same as coroutines. Each
is one unary call (``consume_group`` opens a ``Consume`` stream), with the errors every
call of the clients maps (``GroupNotFoundError``, ``GroupExistsError``,
``InvalidInputError`` naming the field, ...). Calls that change nothing or that are
idempotent (reads, create, update) are tried again on ``UNAVAILABLE`` as scans are.

Targets are checked here by the in-process rules before anything is sent, so bad input
names the same field in process and over the wire; the scope (``ConsumerGroup``) has
checked names, starts and settings already.
"""

import asyncio
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import grpc

from logicblocks.event.store.adapters.base import validate_scannable
from logicblocks.event.store.exceptions import InvalidInputError, StorageUnavailableError
from logicblocks.event.store.groups import (
    GroupInfo,
    GroupSettings,
    GroupStart,
    GroupTarget,
    ParkedEvent,
    parked_page,
)
from logicblocks.event.v1 import consumer_groups_pb2 as pb
from logicblocks.event.v1 import consumer_groups_pb2_grpc

from .consumer import GrpcGroupConsumer
from .consumer_async import AsyncGrpcGroupConsumer
from .errors import RESUMED_SCAN_CODES, documented_error
from .groups_wire import (
    PARKED_PAGE,
    group_from_wire,
    parked_event_from_wire,
    settings_to_wire,
    start_to_wire,
)
from .retry import Backoff
from .wire import target_to_wire

__all__ = ["AsyncGrpcGroupMethods", "GrpcGroupMethods"]

_Response = TypeVar("_Response")


def _create(
    name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
) -> pb.CreateGroupRequest:
    validate_scannable(target)
    return pb.CreateGroupRequest(
        name=name,
        target=target_to_wire(target),
        start=start_to_wire(start),
        settings=settings_to_wire(settings),
    )


def _selection(sequence_numbers: Sequence[int] | None) -> dict[str, Any] | None:
    """The fields of a replay or drop: ``all`` (for ``None``), or the numbers, checked;
    ``None`` for no numbers at all, which select nothing (the wire has no empty list:
    it refuses one, lest it be read as every event)."""
    if sequence_numbers is None:
        return {"all": True}
    numbers = list(sequence_numbers)
    for index, number in enumerate(numbers):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise InvalidInputError(f"sequence_numbers[{index}]", "must be an integer >= 0")
    return {"sequence_numbers": numbers} if numbers else None


class _ParkedListing:
    """A listing of parked events over ``ListParkedEvents``, one page per request, each
    after the last event of the one before, until ``limit`` or the end."""

    def __init__(self, name: str, after_sequence_number: object, limit: object):
        self._name = name
        self._after, self._limit = parked_page(
            after_sequence_number=after_sequence_number, limit=limit
        )
        self.events: list[ParkedEvent] = []
        self._more = True

    def next_request(self) -> pb.ListParkedEventsRequest | None:
        """The next page's request; ``None`` once the listing is complete."""
        if not self._more:
            return None
        # 0: the server's page.
        wanted = 0 if self._limit is None else min(self._limit - len(self.events), PARKED_PAGE)
        return pb.ListParkedEventsRequest(
            name=self._name, after_sequence_number=self._after, limit=wanted
        )

    def take(self, response: pb.ListParkedEventsResponse) -> None:
        """Add a page's events (a server older than paging sends all of them at once,
        without ``more``: they are cut here to what was asked for)."""
        page = [
            event
            for parked in response.parked_events
            if (event := parked_event_from_wire(parked)).sequence_number > self._after
        ]
        if self._limit is not None:
            page = page[: self._limit - len(self.events)]
        self.events += page
        full = self._limit is not None and len(self.events) >= self._limit
        self._more = response.more and bool(page) and not full
        if page:
            self._after = page[-1].sequence_number


class GrpcGroupMethods:
    """The group methods of ``GrpcStorageAdapter`` (which sets the attributes below)."""

    _groups: consumer_groups_pb2_grpc.ConsumerGroupServiceStub
    _metadata: tuple[tuple[str, str], ...]
    timeout: float | None
    attempts: int

    def _call(self, method: Any, request: Any, *, retried: bool = False) -> Any:
        backoff = Backoff.for_calls(self.attempts if retried else 1)
        while True:
            try:
                return method(request, timeout=self.timeout, metadata=self._metadata)
            except grpc.RpcError as error:
                if error.code() not in RESUMED_SCAN_CODES or backoff.exhausted:
                    raise documented_error(error) from None
                time.sleep(backoff.next_delay())
            except ValueError:
                # grpc refuses a call on a closed channel before sending anything.
                raise StorageUnavailableError("the adapter is closed") from None

    def create_group(
        self, *, name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
    ) -> GroupInfo:
        """Create the group (or find it as asked); see ``StorageAdapter.create_group``."""
        request = _create(name, target, start, settings)
        response = self._call(self._groups.CreateGroup, request, retried=True)
        return group_from_wire(response.group)

    def update_group(self, *, name: str, settings: GroupSettings) -> GroupInfo:
        """Replace the group's settings."""
        request = pb.UpdateGroupRequest(name=name, settings=settings_to_wire(settings))
        response = self._call(self._groups.UpdateGroup, request, retried=True)
        return group_from_wire(response.group)

    def get_group(self, *, name: str) -> GroupInfo:
        """The group, with its lag, parked count and live consumers."""
        response = self._call(self._groups.GetGroup, pb.GetGroupRequest(name=name), retried=True)
        return group_from_wire(response.group)

    def list_groups(self) -> Sequence[GroupInfo]:
        """Every group, by name."""
        response = self._call(self._groups.ListGroups, pb.ListGroupsRequest(), retried=True)
        return [group_from_wire(group) for group in response.groups]

    def reset_group(self, *, name: str, start: GroupStart) -> GroupInfo:
        """Start the group over from ``start``."""
        request = pb.ResetGroupRequest(name=name, start=start_to_wire(start))
        return group_from_wire(self._call(self._groups.ResetGroup, request).group)

    def delete_group(self, *, name: str) -> None:
        """Delete the group."""
        self._call(self._groups.DeleteGroup, pb.DeleteGroupRequest(name=name))

    def consume_group(self, *, name: str, consumer_id: str | None = None) -> GrpcGroupConsumer:
        """Join the group (now: an unknown group raises ``GroupNotFoundError`` here)."""
        return GrpcGroupConsumer(
            stub=self._groups, group=name, consumer_id=consumer_id, metadata=self._metadata
        )

    def parked_events(
        self, *, name: str, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        """The group's parked events, in sequence-number order, a page per call."""
        listing = _ParkedListing(name, after_sequence_number, limit)
        while (request := listing.next_request()) is not None:
            listing.take(self._call(self._groups.ListParkedEvents, request, retried=True))
        return listing.events

    def replay_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """Deliver parked events again; returns how many."""
        selection = _selection(sequence_numbers)
        if selection is None:
            return 0
        request = pb.ReplayParkedEventsRequest(name=name, **selection)
        return int(self._call(self._groups.ReplayParkedEvents, request).replaying)

    def drop_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """Forget parked events; returns how many."""
        selection = _selection(sequence_numbers)
        if selection is None:
            return 0
        request = pb.DropParkedEventsRequest(name=name, **selection)
        return int(self._call(self._groups.DropParkedEvents, request).dropped)


class AsyncGrpcGroupMethods:
    """The group methods of ``AsyncGrpcStorageAdapter``, as coroutines."""

    _groups: "consumer_groups_pb2_grpc.ConsumerGroupServiceAsyncStub"  # only in the type stubs
    _metadata: tuple[tuple[str, str], ...]
    timeout: float | None
    attempts: int

    async def _call(self, method: Any, request: Any, *, retried: bool = False) -> Any:
        backoff = Backoff.for_calls(self.attempts if retried else 1)
        while True:
            try:
                return await method(request, timeout=self.timeout, metadata=self._metadata)
            except grpc.RpcError as error:
                if error.code() not in RESUMED_SCAN_CODES or backoff.exhausted:
                    raise documented_error(error) from None
                await asyncio.sleep(backoff.next_delay())
            except (grpc.aio.UsageError, ValueError):
                raise StorageUnavailableError("the adapter is closed") from None

    async def create_group(
        self, *, name: str, target: GroupTarget, start: GroupStart, settings: GroupSettings
    ) -> GroupInfo:
        """Create the group (or find it as asked)."""
        request = _create(name, target, start, settings)
        response = await self._call(self._groups.CreateGroup, request, retried=True)
        return group_from_wire(response.group)

    async def update_group(self, *, name: str, settings: GroupSettings) -> GroupInfo:
        """Replace the group's settings."""
        request = pb.UpdateGroupRequest(name=name, settings=settings_to_wire(settings))
        response = await self._call(self._groups.UpdateGroup, request, retried=True)
        return group_from_wire(response.group)

    async def get_group(self, *, name: str) -> GroupInfo:
        """The group, with its lag, parked count and live consumers."""
        request = pb.GetGroupRequest(name=name)
        response = await self._call(self._groups.GetGroup, request, retried=True)
        return group_from_wire(response.group)

    async def list_groups(self) -> Sequence[GroupInfo]:
        """Every group, by name."""
        response = await self._call(self._groups.ListGroups, pb.ListGroupsRequest(), retried=True)
        return [group_from_wire(group) for group in response.groups]

    async def reset_group(self, *, name: str, start: GroupStart) -> GroupInfo:
        """Start the group over from ``start``."""
        request = pb.ResetGroupRequest(name=name, start=start_to_wire(start))
        return group_from_wire((await self._call(self._groups.ResetGroup, request)).group)

    async def delete_group(self, *, name: str) -> None:
        """Delete the group."""
        await self._call(self._groups.DeleteGroup, pb.DeleteGroupRequest(name=name))

    async def consume_group(
        self, *, name: str, consumer_id: str | None = None
    ) -> AsyncGrpcGroupConsumer:
        """Join the group and return the consumer, to iterate with ``async for`` (an
        unknown group raises ``GroupNotFoundError`` here)."""
        consumer = AsyncGrpcGroupConsumer(
            stub=self._groups, group=name, consumer_id=consumer_id, metadata=self._metadata
        )
        await consumer.join()
        return consumer

    async def parked_events(
        self, *, name: str, after_sequence_number: int | None = None, limit: int | None = None
    ) -> Sequence[ParkedEvent]:
        """The group's parked events, in sequence-number order, a page per call."""
        listing = _ParkedListing(name, after_sequence_number, limit)
        while (request := listing.next_request()) is not None:
            listing.take(await self._call(self._groups.ListParkedEvents, request, retried=True))
        return listing.events

    async def replay_parked(
        self, *, name: str, sequence_numbers: Sequence[int] | None = None
    ) -> int:
        """Deliver parked events again; returns how many."""
        selection = _selection(sequence_numbers)
        if selection is None:
            return 0
        request = pb.ReplayParkedEventsRequest(name=name, **selection)
        return int((await self._call(self._groups.ReplayParkedEvents, request)).replaying)

    async def drop_parked(self, *, name: str, sequence_numbers: Sequence[int] | None = None) -> int:
        """Forget parked events; returns how many."""
        selection = _selection(sequence_numbers)
        if selection is None:
            return 0
        request = pb.DropParkedEventsRequest(name=name, **selection)
        return int((await self._call(self._groups.DropParkedEvents, request)).dropped)
