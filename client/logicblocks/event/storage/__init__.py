"""The engines that hold events themselves: in memory, in a SQLite file, in PostgreSQL.

Each is a ``RecordStorageAdapter`` (``engine``): the documented ``StorageAdapter`` built on
three backend methods. Applications reach them through ``logicblocks.event.store.adapters``.
"""
