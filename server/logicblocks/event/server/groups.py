"""The ``logicblocks.event.v1.ConsumerGroupService``: consumer groups over gRPC.

A thin translation: each RPC checks its request (``group_requests``), calls the engine
adapter's group method, the one implementation of groups (``storage``), and answers; the
engine's errors become statuses as everywhere (``status``). The adapter is blocking, so
its calls run on the server's storage executor and the event loop never waits on them.

``Consume`` runs the engine's blocking consumer in a thread of its own per stream
(``consuming``); the streams hold the same slots as subscriptions, so
``--max-subscriptions`` (and its per-connection limit) bounds the threads too.
"""

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import grpc

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.store import InvalidInputError
from logicblocks.event.transport.groups_wire import group_to_wire, parked_event_to_wire
from logicblocks.event.v1 import consumer_groups_pb2, consumer_groups_pb2_grpc

from .consuming import ConsumerStream, Traffic
from .group_requests import (
    MAX_REASON_CHARACTERS,
    create_arguments,
    credit_count,
    group_name,
    join_arguments,
    parked_listing,
    reset_start,
    selected_sequence_numbers,
    update_settings,
)
from .limits import DEFAULT_LIMITS, Limits, SubscriptionSlots
from .status import status_for, storage_failure

__all__ = ["GROUPS_SERVICE_NAME", "UNIMPLEMENTED_MESSAGE", "ConsumerGroupServicer", "call_on"]

_log = logging.getLogger("logicblocks.event.server")

_T = TypeVar("_T")

GROUPS_SERVICE_NAME = consumer_groups_pb2.DESCRIPTOR.services_by_name[
    "ConsumerGroupService"
].full_name
UNIMPLEMENTED_MESSAGE = "this server's storage keeps no consumer groups"

# A batch of deliveries is closed once it holds this many payload bytes.
_MESSAGE_BYTES = 1024 * 1024

_Context = grpc.aio.ServicerContext[Any, Any]


async def call_on(executor: Executor, function: Callable[..., _T], **arguments: Any) -> _T:
    """``function(**arguments)`` on ``executor``: a blocking group method of the engine
    adapter, called without holding up the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, functools.partial(function, **arguments))


class ConsumerGroupServicer(consumer_groups_pb2_grpc.ConsumerGroupServiceServicer):
    """Serves consumer groups from ``adapter``'s group methods, calling them on
    ``executor``. ``subscriptions``: the slots ``Consume`` streams hold (shared with
    subscriptions). ``on_storage_error`` as for ``EventStoreServicer``. ``traffic``: the
    counters a group's ``Consume`` streams report to (the metrics), by group name."""

    def __init__(
        self,
        adapter: RecordStorageAdapter,
        executor: Executor,
        *,
        limits: Limits = DEFAULT_LIMITS,
        subscriptions: SubscriptionSlots | None = None,
        on_storage_error: Callable[[str], None] | None = None,
        traffic: Callable[[str], Traffic] | None = None,
    ):
        self._adapter = adapter
        self._traffic = traffic
        self._executor = executor
        self._limits = limits
        self._subscriptions = subscriptions or SubscriptionSlots(limits)
        self._on_storage_error = on_storage_error
        self._streams: set[ConsumerStream] = set()
        self._closing = False

    @property
    def consumers(self) -> int:
        """How many consumers are joined through this server now."""
        return len(self._streams)

    async def close(self) -> None:
        """End every ``Consume`` stream with ``UNAVAILABLE`` (the server is stopping; its
        consumers join again elsewhere) and refuse new ones."""
        self._closing = True
        streams = list(self._streams)
        for stream in streams:
            stream.shutting_down = True
        await asyncio.gather(*(stream.leave() for stream in streams), return_exceptions=True)

    async def _call(self, function: Callable[..., _T], **arguments: Any) -> _T:
        return await call_on(self._executor, function, **arguments)

    async def _abort(self, context: _Context, error: Exception, method: str) -> None:
        if isinstance(error, NotImplementedError):
            # The adapter's default for group methods: this engine keeps no groups.
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, UNIMPLEMENTED_MESSAGE)
        failure = storage_failure(error)
        if failure is not None and self._on_storage_error is not None:
            self._on_storage_error(failure)
        status = status_for(error, method=method)
        _log.info(
            "event=group_call_failed method=%s peer=%s code=%s",
            method,
            context.peer(),
            status.code.name,
        )
        await context.abort(status.code, status.details, status.trailing_metadata)

    async def CreateGroup(
        self, request: consumer_groups_pb2.CreateGroupRequest, context: _Context
    ) -> consumer_groups_pb2.CreateGroupResponse:
        """Create the group, or find it as asked."""
        try:
            arguments = create_arguments(request, self._limits)
            info = await self._call(
                self._adapter.create_group,
                name=arguments.name,
                target=arguments.target,
                start=arguments.start,
                settings=arguments.settings,
            )
        except Exception as error:
            await self._abort(context, error, "CreateGroup")
        _log.info("event=group_created group=%s", info.name)
        return consumer_groups_pb2.CreateGroupResponse(group=group_to_wire(info))

    async def UpdateGroup(
        self, request: consumer_groups_pb2.UpdateGroupRequest, context: _Context
    ) -> consumer_groups_pb2.UpdateGroupResponse:
        """Replace the group's settings."""
        try:
            name = group_name("name", request.name, self._limits)
            partitions = None
            if not request.settings.HasField("partitions"):
                # Unset keeps the group's own, which only the group knows.
                current = await self._call(self._adapter.get_group, name=name)
                partitions = current.settings.partitions
            settings = update_settings(request, partitions)
            info = await self._call(self._adapter.update_group, name=name, settings=settings)
        except Exception as error:
            await self._abort(context, error, "UpdateGroup")
        return consumer_groups_pb2.UpdateGroupResponse(group=group_to_wire(info))

    async def GetGroup(
        self, request: consumer_groups_pb2.GetGroupRequest, context: _Context
    ) -> consumer_groups_pb2.GetGroupResponse:
        """One group, with its lag."""
        try:
            name = group_name("name", request.name, self._limits)
            info = await self._call(self._adapter.get_group, name=name)
        except Exception as error:
            await self._abort(context, error, "GetGroup")
        return consumer_groups_pb2.GetGroupResponse(group=group_to_wire(info))

    async def ListGroups(
        self, request: consumer_groups_pb2.ListGroupsRequest, context: _Context
    ) -> consumer_groups_pb2.ListGroupsResponse:
        """Every group, by name."""
        try:
            infos = await self._call(self._adapter.list_groups)
        except Exception as error:
            await self._abort(context, error, "ListGroups")
        return consumer_groups_pb2.ListGroupsResponse(groups=[group_to_wire(i) for i in infos])

    async def ResetGroup(
        self, request: consumer_groups_pb2.ResetGroupRequest, context: _Context
    ) -> consumer_groups_pb2.ResetGroupResponse:
        """Start the group over."""
        try:
            name = group_name("name", request.name, self._limits)
            start = reset_start(request)
            info = await self._call(self._adapter.reset_group, name=name, start=start)
        except Exception as error:
            await self._abort(context, error, "ResetGroup")
        _log.info("event=group_reset group=%s", name)
        return consumer_groups_pb2.ResetGroupResponse(group=group_to_wire(info))

    async def DeleteGroup(
        self, request: consumer_groups_pb2.DeleteGroupRequest, context: _Context
    ) -> consumer_groups_pb2.DeleteGroupResponse:
        """Delete the group."""
        try:
            name = group_name("name", request.name, self._limits)
            await self._call(self._adapter.delete_group, name=name)
        except Exception as error:
            await self._abort(context, error, "DeleteGroup")
        _log.info("event=group_deleted group=%s", name)
        return consumer_groups_pb2.DeleteGroupResponse()

    async def ListParkedEvents(
        self, request: consumer_groups_pb2.ListParkedEventsRequest, context: _Context
    ) -> consumer_groups_pb2.ListParkedEventsResponse:
        """A page of the group's parked events."""
        try:
            name = group_name("name", request.name, self._limits)
            after, page = parked_listing(request)
            # One more than the page: whether more follow.
            parked = await self._call(
                self._adapter.parked_events,
                name=name,
                after_sequence_number=after,
                limit=page + 1,
            )
        except Exception as error:
            await self._abort(context, error, "ListParkedEvents")
        return consumer_groups_pb2.ListParkedEventsResponse(
            parked_events=[parked_event_to_wire(event) for event in parked[:page]],
            more=len(parked) > page,
        )

    async def ReplayParkedEvents(
        self, request: consumer_groups_pb2.ReplayParkedEventsRequest, context: _Context
    ) -> consumer_groups_pb2.ReplayParkedEventsResponse:
        """Deliver parked events again."""
        try:
            name = group_name("name", request.name, self._limits)
            numbers = selected_sequence_numbers(request.sequence_numbers, request.all)
            count = await self._call(
                self._adapter.replay_parked, name=name, sequence_numbers=numbers
            )
        except Exception as error:
            await self._abort(context, error, "ReplayParkedEvents")
        return consumer_groups_pb2.ReplayParkedEventsResponse(replaying=count)

    async def DropParkedEvents(
        self, request: consumer_groups_pb2.DropParkedEventsRequest, context: _Context
    ) -> consumer_groups_pb2.DropParkedEventsResponse:
        """Forget parked events."""
        try:
            name = group_name("name", request.name, self._limits)
            numbers = selected_sequence_numbers(request.sequence_numbers, request.all)
            count = await self._call(self._adapter.drop_parked, name=name, sequence_numbers=numbers)
        except Exception as error:
            await self._abort(context, error, "DropParkedEvents")
        return consumer_groups_pb2.DropParkedEventsResponse(dropped=count)

    async def Consume(
        self,
        request_iterator: AsyncIterator[consumer_groups_pb2.ConsumeRequest],
        context: _Context,
    ) -> AsyncIterator[consumer_groups_pb2.ConsumeResponse]:
        """Join the group, then send deliveries while reading settlements and credit."""
        stream: ConsumerStream | None = None
        reader: asyncio.Task[None] | None = None
        pump: asyncio.Task[None] | None = None
        sent = 0
        try:
            requests = aiter(request_iterator)
            try:
                first = await anext(requests)
            except StopAsyncIteration:
                return  # the client left before joining
            join = join_arguments(first, self._limits)
            if self._closing:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "the server is shutting down")
            with self._subscriptions.hold(context.peer()):
                consumer = await self._call(
                    self._adapter.join_group, name=join.group, consumer_id=join.consumer_id
                )
                stream = ConsumerStream(
                    consumer,
                    credit=join.credit,
                    storage=self._executor,
                    message_bytes=_MESSAGE_BYTES,
                    traffic=None if self._traffic is None else self._traffic(join.group),
                )
                self._streams.add(stream)
                pump = asyncio.create_task(stream.pump())
                reader = asyncio.create_task(_read(requests, stream))
                _log.info(
                    "event=group_joined group=%s consumer=%s peer=%s",
                    join.group,
                    consumer.consumer_id,
                    context.peer(),
                )
                yield consumer_groups_pb2.ConsumeResponse(
                    joined=consumer_groups_pb2.ConsumeResponse.Joined(
                        consumer_id=consumer.consumer_id, ack_credit=True
                    )
                )
                async for response in stream.responses():
                    yield response
                    sent += len(response.deliveries.deliveries)
            _log.info(
                "event=group_left group=%s consumer=%s deliveries_sent=%d",
                join.group,
                consumer.consumer_id,
                sent,
            )
            if stream.shutting_down:
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE, "the server is shutting down: join again"
                )
        except grpc.aio.AbortError:
            raise  # ended on purpose, above: the status is set
        except asyncio.CancelledError:
            _log.info("event=consume_cancelled peer=%s deliveries_sent=%d", context.peer(), sent)
            raise
        except Exception as error:
            if not context.cancelled():
                await self._abort(context, error, "Consume")
        finally:
            for task in (reader, pump):
                if task is not None:
                    task.cancel()
            if stream is not None:
                self._streams.discard(stream)
                # What the consumer holds unsettled goes back to the group.
                await stream.leave()


async def _read(
    requests: AsyncIterator[consumer_groups_pb2.ConsumeRequest], stream: ConsumerStream
) -> None:
    """Apply the client's messages in order; its half-close leaves the group (after every
    settlement sent before it)."""
    try:
        async for request in requests:
            match request.WhichOneof("content"):
                case "ack":
                    ack = request.ack
                    # Checked before anything is settled: bad input changes nothing.
                    credit = credit_count("ack.credit", ack.credit, stream.unspent_credit, least=0)
                    stream.ack(ack.delivery_ids)
                    if credit:
                        stream.grant(credit)
                case "nack":
                    reason = request.nack.reason[:MAX_REASON_CHARACTERS]
                    stream.nack(request.nack.delivery_id, reason)
                case "give_back":
                    give_back = request.give_back
                    through = (
                        give_back.received_through
                        if give_back.HasField("received_through")
                        else None
                    )
                    stream.give_back(give_back.delivery_ids, through)
                case "credit":
                    count = request.credit.count
                    stream.grant(credit_count("credit.count", count, stream.unspent_credit))
                case "join":
                    raise InvalidInputError(
                        "join", "the first message must be a join, and only the first"
                    )
        await stream.leave()
    except asyncio.CancelledError:
        raise
    except Exception as error:
        stream.fail(error)
