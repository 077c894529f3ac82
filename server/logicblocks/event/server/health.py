"""The standard gRPC health service, with its ``Watch`` streams capped.

Health checks need no token (load balancers and orchestrators hold none), so anyone who
can connect may open ``Watch`` streams; each holds memory for as long as it stays open.
"""

from typing import Any

import grpc
from grpc_health.v1 import health_pb2

# grpc-stubs predates the asyncio health servicer, which grpcio-health-checking ships.
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from .limits import ConcurrencyLimitError, Limits, Slots

__all__ = ["BoundedHealthServicer"]


class BoundedHealthServicer(health_aio.HealthServicer):  # type: ignore[misc]
    """gRPC's health servicer, refusing ``Watch`` streams over ``max_health_watches``
    (per server) or ``max_health_watches_per_connection`` with ``RESOURCE_EXHAUSTED``."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.watches = Slots(
            "health watches", limits, "max_health_watches", "max_health_watches_per_connection"
        )

    async def Watch(
        self,
        request: health_pb2.HealthCheckRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> None:
        try:
            with self.watches.hold(context.peer()):
                await super().Watch(request, context)
        except ConcurrencyLimitError as error:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
