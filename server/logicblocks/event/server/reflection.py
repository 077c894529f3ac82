"""Server reflection under both of its names: ``grpc.reflection.v1`` and ``v1alpha``.

grpcio-reflection serves only ``v1alpha``, but newer tools (grpcurl, Postman, grpcui) ask
for ``v1`` first. The two versions' messages are the same on the wire, field for field;
only the service name differs. So ``v1`` is the library's own servicer registered a second
time under the new name, with the ``v1alpha`` messages as its (de)serializers.
"""

from collections.abc import Sequence

import grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from grpc_reflection.v1alpha._async import ReflectionServicer

__all__ = ["REFLECTION_SERVICE_NAMES", "enable_reflection"]

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
REFLECTION_SERVICE_NAMES = (V1_SERVICE_NAME, reflection.SERVICE_NAME)


def enable_reflection(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Serve reflection (both versions) describing ``service_names`` and itself."""
    names = [*service_names, *REFLECTION_SERVICE_NAMES]
    reflection.enable_server_reflection(names, server)
    servicer = ReflectionServicer(names)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(V1_SERVICE_NAME, {"ServerReflectionInfo": handler}),)
    )
