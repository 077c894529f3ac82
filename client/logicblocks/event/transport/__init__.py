"""The gRPC transport: the wire conversions and the two clients of an event store server.

``GrpcStorageAdapter`` (blocking) and ``AsyncGrpcStorageAdapter`` (asyncio) speak the
contract in ``proto/``; applications reach them through ``logicblocks.event.store.adapters``.
"""
