"""The base class of each face of the PostgreSQL group records.

``groups_async`` is written once and its blocking twin ``groups`` generated from it
(``scripts/async_to_sync.py``), which renames ``AGroupRecords`` to ``GroupRecords``: the
blocking face implements the ``GroupRecords`` interface every engine's consumer groups
use, while the asynchronous face (whose methods are awaited, so it cannot be one) extends
``AGroupRecords``, which asks nothing.
"""

from ..groups.records import GroupRecords

__all__ = ["AGroupRecords", "GroupRecords"]


class AGroupRecords:
    """The base of ``AsyncPostgresGroupRecords``: its methods are ``GroupRecords``'s,
    awaited."""
