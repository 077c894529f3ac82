"""The gRPC server of the event store."""
