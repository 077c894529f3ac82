"""The storage adapter contract: the tests every adapter passes, shipped for yours too.

Every adapter of this project runs these classes (in-memory, SQLite, PostgreSQL, and both
gRPC clients in front of each); a third party's adapter runs them the same way. In a
pytest module, subclass the contracts your adapter meets and provide ``adapter_factory``,
a fixture yielding a callable that returns a new, empty adapter on each call (the fixture
closes what it made)::

    import pytest
    from logicblocks.event.testing.contract import StorageAdapterContract, SubscriptionContract

    class TestMyAdapter(StorageAdapterContract, SubscriptionContract):
        @pytest.fixture
        def adapter_factory(self):
            with MyAdapterFactory() as make:
                yield make

``StorageAdapterContract`` checks every promise of the store (docs/invariants.md in the
project's repository): numbering, atomic publishes, conditions, races, retries, reads and
exact round trips, and (``ConsistencyContract``) tags, metadata, queries, reads by time and
publishes across streams. ``SubscriptionContract`` checks subscriptions, and
``RecordStorageContract`` the ``read_records`` of engines built on
``RecordStorageAdapter``, and ``ListingContract`` their listings and summary;
``ConsumerGroupContract`` checks consumer groups. Needs pytest
and hypothesis (the ``testing`` extra).
"""

from .consistency import ConsistencyContract, ConsistencyModelContract
from .fixtures import AdapterFactory
from .groups import ConsumerGroupContract
from .listing import ListingContract
from .reads import ReadsContract
from .records import RecordStorageContract
from .subscriptions import SubscriptionContract
from .writes import WritesContract

__all__ = [
    "AdapterFactory",
    "ConsistencyContract",
    "ConsistencyModelContract",
    "ConsumerGroupContract",
    "ListingContract",
    "ReadsContract",
    "RecordStorageContract",
    "StorageAdapterContract",
    "SubscriptionContract",
    "WritesContract",
]


class StorageAdapterContract(
    WritesContract, ReadsContract, ConsistencyContract, ConsistencyModelContract
):
    """The behaviour every storage adapter shares. Subclasses provide ``adapter_factory``."""
