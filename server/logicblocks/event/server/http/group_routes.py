"""The API's consumer group handlers: the groups with their state, and parked events.

Read-only: managing groups (create, reset, replay, drop) stays with gRPC and the CLI,
whose token rules it keeps. The handlers call the engine adapter's group methods, the one
implementation of groups, on the storage threads (the adapter is blocking), with the
request checks of the gRPC face (``group_requests``).
"""

from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import Any, TypeVar

from aiohttp import web

from logicblocks.event.storage.engine import RecordStorageAdapter

from ..group_requests import group_name, parked_arguments
from ..groups import UNIMPLEMENTED_MESSAGE, call_on
from . import query
from .errors import error_body, json_response
from .group_json import group_json, groups_json, parked_page_json
from .routes import Api

__all__ = ["GroupRoutes"]

_T = TypeVar("_T")

_PARKED_PARAMETERS = {
    "name": "name",
    "after_sequence_number": "after",
    "limit": "limit",
}


class GroupRoutes:
    """``GET /api/v1/groups``, ``/api/v1/groups/{name}`` and its ``parked`` events, from
    ``adapter``'s group methods called on ``executor``; errors answered as ``api``'s."""

    def __init__(self, api: Api, adapter: RecordStorageAdapter, executor: Executor):
        self._api = api
        self._adapter = adapter
        self._executor = executor

    async def _call(self, function: Callable[..., _T], **arguments: Any) -> _T:
        return await call_on(self._executor, function, **arguments)

    async def _answer(
        self,
        request: web.Request,
        parameters: Mapping[str, str],
        work: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        async def answered() -> web.Response:
            try:
                return await work()
            except NotImplementedError:
                # The engine adapter's default for group methods.
                return json_response(error_body("UNIMPLEMENTED", UNIMPLEMENTED_MESSAGE), 501)

        return await self._api.answer(request, parameters, answered)

    def _name(self, request: web.Request) -> str:
        return group_name("name", query.path_name(request, "name", "name"), self._api.limits)

    async def groups(self, request: web.Request) -> web.Response:
        """``GET /api/v1/groups``: every group, with its lag, parked count and members."""

        async def work() -> web.Response:
            return json_response(groups_json(await self._call(self._adapter.list_groups)))

        return await self._answer(request, {}, work)

    async def group(self, request: web.Request) -> web.Response:
        """``GET /api/v1/groups/{name}``: one group, or 404."""

        async def work() -> web.Response:
            name = self._name(request)
            return json_response(group_json(await self._call(self._adapter.get_group, name=name)))

        return await self._answer(request, {"name": "name"}, work)

    async def parked(self, request: web.Request) -> web.Response:
        """``GET /api/v1/groups/{name}/parked?after=&limit=``: a page of the group's parked
        events, oldest first."""

        async def work() -> web.Response:
            name = self._name(request)
            start, page = parked_arguments(
                query.integer(request.query.get("after")),
                query.integer(request.query.get("limit", "0")),
            )
            # One more than the page: whether more follow.
            found = await self._call(
                self._adapter.parked_events, name=name, after_sequence_number=start, limit=page + 1
            )
            return json_response(parked_page_json(found[:page], len(found) > page))

        return await self._answer(request, _PARKED_PARAMETERS, work)
