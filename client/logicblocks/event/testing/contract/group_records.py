"""``GroupRecordsContract``: what every engine's ``GroupRecords`` keeps, and how it refuses.

An engine's group records (``RecordStorageAdapter.group_records()``) pass these tests, the
in-memory reference as much as SQLite and PostgreSQL. A subclass provides
``group_records_pair``: two records on the same fresh, empty storage, reached through
different connections where the engine has them (two adapters on one SQLite file or one
PostgreSQL table), so races between them are races between processes. Times are plain
numbers given by the test, so expiry is decided by ``now``, never by a clock.

Definitions, members, reset and delete are here; leases, progress, parked events and the
claim races in ``group_record_leases``.
"""

from typing import Any

import pytest

from logicblocks.event.storage.groups.records import GroupRecords, PartitionProgress
from logicblocks.event.store.exceptions import GroupExistsError, GroupNotFoundError
from logicblocks.event.store.groups import FROM_BEGINNING, FROM_END, After, GroupSettings
from logicblocks.event.types import identifier

from .group_record_fixtures import NAMED, TARGETS, make_definition, make_parked
from .group_record_leases import GroupLeasesContract

__all__ = ["GroupRecordsContract"]


class GroupRecordsContract(GroupLeasesContract):
    """The behaviour every ``GroupRecords`` shares. Subclasses provide ``group_records_pair``
    (see ``GroupRecordsFixtures``)."""

    # Definitions ---------------------------------------------------------------------------

    def test_a_group_is_created_at_generation_0_and_read_back(
        self, group_records: GroupRecords
    ) -> None:
        created = group_records.create(make_definition(generation=5))
        assert created == make_definition()
        assert group_records.get("billing") == created

    def test_creating_a_group_again_as_asked_returns_it_as_stored(
        self, group_records: GroupRecords
    ) -> None:
        stored = group_records.create(make_definition())
        again = make_definition(settings=GroupSettings(partitions=8, max_retries=1), start_after=7)
        assert group_records.create(again) == stored
        assert group_records.get("billing") == stored

    @pytest.mark.parametrize(
        "other",
        [
            {"target": identifier.Category(category="invoices")},
            {"start": FROM_END},
            {"start": After(3), "start_after": 3},
        ],
        ids=["target", "from_end", "after"],
    )
    def test_creating_a_group_with_another_target_or_start_is_refused(
        self, group_records: GroupRecords, other: dict[str, Any]
    ) -> None:
        stored = group_records.create(make_definition())
        with pytest.raises(GroupExistsError):
            group_records.create(make_definition(**other))
        assert group_records.get("billing") == stored

    @pytest.mark.parametrize("method", sorted(NAMED))
    def test_every_method_naming_a_missing_group_raises_group_not_found(
        self, group_records: GroupRecords, method: str
    ) -> None:
        group_records.create(make_definition(name="other"))
        with pytest.raises(GroupNotFoundError):
            NAMED[method](group_records)

    def test_leaving_a_missing_group_or_as_a_missing_member_is_no_error(
        self, group_records: GroupRecords
    ) -> None:
        group_records.leave("missing", "m")
        group_records.create(make_definition())
        group_records.leave("billing", "never-joined")

    def test_update_replaces_the_settings_only(self, group_records: GroupRecords) -> None:
        group_records.create(make_definition())
        settings = GroupSettings(ack_timeout=2.5, max_retries=0, max_in_flight=3, partitions=8)
        assert group_records.update("billing", settings) == make_definition(settings=settings)
        assert group_records.get("billing").settings == settings

    def test_all_lists_every_group_in_code_point_order(self, group_records: GroupRecords) -> None:
        names = ["é-group", "b", "Z", "a", "ä", "a-1"]
        for name in names:
            group_records.create(make_definition(name=name))
        assert [group.name for group in group_records.all()] == sorted(names)

    @pytest.mark.parametrize("target", TARGETS, ids=["log", "category", "stream", "query"])
    def test_every_kind_of_target_round_trips(
        self, group_records: GroupRecords, target: Any
    ) -> None:
        group_records.create(make_definition(target=target))
        assert group_records.get("billing").target == target
        assert [group.target for group in group_records.all()] == [target]
        # Asked again with the same target: the same group, not a conflict.
        assert group_records.create(make_definition(target=target)).target == target

    def test_settings_round_trip_exactly(self, group_records: GroupRecords) -> None:
        settings = GroupSettings(
            ack_timeout=0.1 + 0.2,
            max_retries=1000,
            retry_backoff=1 / 3,
            retry_backoff_max=86_399.999999,
            max_in_flight=100_000,
            member_timeout=2.2250738585072014e-308,
            partitions=1024,
        )
        group_records.create(make_definition(settings=settings))
        assert group_records.get("billing").settings == settings
        group_records.update("billing", GroupSettings(ack_timeout=1e-9, partitions=1024))
        assert group_records.get("billing").settings.ack_timeout == 1e-9

    def test_starts_round_trip(self, group_records: GroupRecords) -> None:
        group_records.create(make_definition(name="end", start=FROM_END, start_after=99))
        group_records.create(make_definition(name="after", start=After(7), start_after=7))
        assert (group_records.get("end").start, group_records.get("end").start_after) == (
            FROM_END,
            99,
        )
        assert group_records.get("after").start == After(7)
        reset = group_records.reset("end", After(-1), -1)
        assert (reset.start, reset.start_after) == (After(-1), -1)
        assert group_records.get("end") == reset

    # Reset and delete ----------------------------------------------------------------------

    def test_reset_bumps_the_generation_and_forgets_leases_progress_andmake_parked(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        group_records.claim("billing", generation=0, partition=2, member="a", now=0, lease_until=50)
        group_records.save(
            "billing",
            generation=0,
            member="a",
            progress=[PartitionProgress(2, 10, (12,), ((11, 2),))],
            parked=[make_parked(11, 2)],
        )
        reset = group_records.reset("billing", FROM_END, 40)
        assert (reset.generation, reset.start, reset.start_after) == (1, FROM_END, 40)
        assert group_records.progress("billing") == []
        assert group_records.parked("billing") == []
        # The old generation is refused everywhere; another member claims at once.
        assert (
            group_records.claim(
                "billing", generation=0, partition=2, member="a", now=1, lease_until=9
            )
            is None
        )
        assert group_records.claim(
            "billing", generation=1, partition=2, member="b", now=1, lease_until=9
        ) == PartitionProgress(2, 40)
        assert (
            group_records.renew("billing", generation=0, member="a", partitions={2}, lease_until=99)
            == set()
        )
        assert group_records.reset("billing", FROM_BEGINNING, -1).generation == 2

    def test_delete_forgets_the_group_and_everything_about_it(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        group_records.heartbeat("billing", "a", now=0, expires_at=100)
        group_records.claim("billing", generation=0, partition=0, member="a", now=0, lease_until=50)
        group_records.save(
            "billing",
            generation=0,
            member="a",
            progress=[PartitionProgress(0, 5)],
            parked=[make_parked(3, 0)],
        )
        group_records.create(make_definition(name="kept"))
        group_records.delete("billing")
        with pytest.raises(GroupNotFoundError):
            group_records.get("billing")
        assert [group.name for group in group_records.all()] == ["kept"]
        # A new group of the same name starts with nothing of the old one.
        group_records.create(make_definition(target=identifier.Log()))
        assert group_records.members("billing", now=0) == []
        assert group_records.progress("billing") == []
        assert group_records.parked("billing") == []
        assert group_records.claim(
            "billing", generation=0, partition=0, member="b", now=1, lease_until=9
        ) == PartitionProgress(0, -1)

    # Members -------------------------------------------------------------------------------

    def test_members_are_live_until_their_expiry_and_forgotten_after(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        assert group_records.heartbeat("billing", "m-b", now=0, expires_at=10) == ["m-b"]
        assert group_records.heartbeat("billing", "m-a", now=5, expires_at=20) == ["m-a", "m-b"]
        # Expiring at exactly now is still live; just after, gone.
        assert group_records.members("billing", now=10) == ["m-a", "m-b"]
        assert group_records.members("billing", now=10.5) == ["m-a"]
        assert group_records.heartbeat("billing", "m-c", now=11, expires_at=30) == ["m-a", "m-c"]
        # A member that beats again is live again.
        assert group_records.heartbeat("billing", "m-b", now=12, expires_at=40) == [
            "m-a",
            "m-b",
            "m-c",
        ]
        assert group_records.members("billing", now=25) == ["m-b", "m-c"]

    def test_a_member_that_leaves_is_forgotten_at_once(self, group_records: GroupRecords) -> None:
        group_records.create(make_definition())
        group_records.heartbeat("billing", "a", now=0, expires_at=100)
        group_records.heartbeat("billing", "b", now=0, expires_at=100)
        group_records.leave("billing", "a")
        assert group_records.members("billing", now=1) == ["b"]
