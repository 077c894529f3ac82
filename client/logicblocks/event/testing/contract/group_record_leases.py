"""The group records contract's leases, progress, parked events and claim races."""

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from logicblocks.event.storage.groups.records import GroupRecords, PartitionProgress
from logicblocks.event.store.groups import After, GroupSettings

from .group_record_fixtures import GroupRecordsFixtures, make_definition, make_parked

__all__ = ["GroupLeasesContract"]


class GroupLeasesContract(GroupRecordsFixtures):
    """Leases are compare-and-set; only owners write progress and parked events."""

    # Leases ------------------------------------------------------------------------------

    def test_claims_are_compare_and_set(self, group_records: GroupRecords) -> None:
        group_records.create(make_definition(start=After(41), start_after=41))

        def claim(member: str, now: float, until: float, generation: int = 0) -> Any:
            return group_records.claim(
                "billing",
                generation=generation,
                partition=3,
                member=member,
                now=now,
                lease_until=until,
            )

        # Unowned: the initial progress, at the group's start.
        assert claim("a", 0, 10) == PartitionProgress(3, 41)
        # Refused while a's lease runs (up to and including its last instant).
        assert claim("b", 5, 20) is None
        assert claim("b", 10, 20) is None
        # The owner claims again (and extends).
        assert claim("a", 9, 15) == PartitionProgress(3, 41)
        assert claim("b", 12, 20) is None
        # A stale generation is refused whoever asks.
        assert claim("a", 12, 20, generation=1) is None
        group_records.save(
            "billing",
            generation=0,
            member="a",
            progress=[PartitionProgress(3, 50, (52, 55), ((51, 3),))],
        )
        # Once the lease ended, another member takes it, with the stored progress.
        assert claim("b", 15.5, 30) == PartitionProgress(3, 50, (52, 55), ((51, 3),))
        assert claim("a", 16, 40) is None

    def test_renew_extends_only_the_leases_still_owned(self, group_records: GroupRecords) -> None:
        group_records.create(make_definition())
        for partition in (0, 1, 2):
            group_records.claim(
                "billing", generation=0, partition=partition, member="a", now=0, lease_until=10
            )
        group_records.claim(
            "billing", generation=0, partition=1, member="b", now=11, lease_until=30
        )
        renewed = group_records.renew(
            "billing", generation=0, member="a", partitions={0, 1, 2, 5}, lease_until=25
        )
        # 2 ended but nobody took it: still a's. 1 is b's; 5 was never a's.
        assert renewed == {0, 2}
        assert (
            group_records.claim(
                "billing", generation=0, partition=0, member="b", now=20, lease_until=40
            )
            is None
        )
        assert (
            group_records.renew("billing", generation=1, member="a", partitions={0}, lease_until=99)
            == set()
        )

    def test_release_ends_the_members_own_leases_at_once(self, group_records: GroupRecords) -> None:
        group_records.create(make_definition())
        for partition, member in ((0, "a"), (1, "a"), (2, "b")):
            group_records.claim(
                "billing", generation=0, partition=partition, member=member, now=0, lease_until=100
            )
        group_records.release("billing", generation=1, member="a", partitions={0})
        group_records.release("billing", generation=0, member="a", partitions={1, 2})

        def taken_by_c(partition: int) -> bool:
            return (
                group_records.claim(
                    "billing", generation=0, partition=partition, member="c", now=1, lease_until=9
                )
                is not None
            )

        # Released: 1. Not: 0 (stale generation), 2 (b's, not a's to release).
        assert [taken_by_c(p) for p in (0, 1, 2)] == [False, True, False]

    # Progress and parked events ------------------------------------------------------------

    def test_save_writes_only_the_partitions_the_member_owns(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        group_records.claim("billing", generation=0, partition=0, member="a", now=0, lease_until=10)
        group_records.claim("billing", generation=0, partition=1, member="b", now=0, lease_until=10)
        group_records.save(
            "billing",
            generation=0,
            member="b",
            progress=[PartitionProgress(1, 4)],
            parked=[make_parked(3, 1)],
        )
        written = group_records.save(
            "billing",
            generation=0,
            member="a",
            progress=[
                PartitionProgress(0, 7, (9,)),
                PartitionProgress(1, 99),
                PartitionProgress(2, 99),
            ],
            parked=[make_parked(8, 0), make_parked(90, 1)],
            unparked=[3],
        )
        assert written == {0}
        assert group_records.progress("billing") == [
            PartitionProgress(0, 7, (9,)),
            PartitionProgress(1, 4),
        ]
        # 90 is of b's partition, and 3 (b's) is not a's to unpark.
        assert [e.sequence_number for e in group_records.parked("billing")] == [3, 8]
        assert (
            group_records.save(
                "billing",
                generation=1,
                member="a",
                progress=[PartitionProgress(0, 50)],
                parked=[make_parked(20, 0)],
            )
            == set()
        )
        assert group_records.progress("billing")[0] == PartitionProgress(0, 7, (9,))

    def test_an_owner_whose_lease_was_taken_writes_nothing(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        group_records.claim("billing", generation=0, partition=0, member="a", now=0, lease_until=10)
        group_records.claim(
            "billing", generation=0, partition=0, member="b", now=11, lease_until=30
        )
        assert (
            group_records.save(
                "billing", generation=0, member="a", progress=[PartitionProgress(0, 5)]
            )
            == set()
        )
        assert group_records.progress("billing") == []
        assert group_records.save(
            "billing", generation=0, member="b", progress=[PartitionProgress(0, 6)]
        ) == {0}
        assert group_records.progress("billing") == [PartitionProgress(0, 6)]

    def test_progress_and_parked_events_round_trip_in_order(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        for partition in (5, 0, 3):
            group_records.claim(
                "billing", generation=0, partition=partition, member="a", now=0, lease_until=10
            )
        progress = [
            PartitionProgress(5, 100, (102, 107, 2**40), ((101, 1), (103, 1000))),
            PartitionProgress(0, -1),
            PartitionProgress(3, 12, (), ((13, 2),)),
        ]
        parked = [
            make_parked(107, 5, reason="timed out: 30.0s — ¡no ack!", attempts=1000),
            make_parked(13, 3, parked_at=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
            make_parked(50, 0, replaying=True),
        ]
        assert group_records.save(
            "billing", generation=0, member="a", progress=progress, parked=parked
        ) == {0, 3, 5}
        assert group_records.progress("billing") == sorted(progress, key=lambda p: p.partition)
        assert group_records.parked("billing") == sorted(parked, key=lambda e: e.sequence_number)
        pages = [
            group_records.parked("billing", after=after, limit=limit)
            for after, limit in ((-1, 2), (13, None), (50, 5), (107, 1))
        ]
        assert [[e.sequence_number for e in page] for page in pages] == [
            [13, 50],
            [50, 107],
            [107],
            [],
        ]
        # Parking an event parked before replaces its row.
        again = make_parked(13, 3, reason="failed again", attempts=7)
        group_records.save("billing", generation=0, member="a", progress=[], parked=[again])
        assert group_records.parked("billing")[0] == again

    def test_replay_and_drop_count_the_parked_events_they_touch(
        self, group_records: GroupRecords
    ) -> None:
        group_records.create(make_definition())
        for partition in (0, 1):
            group_records.claim(
                "billing", generation=0, partition=partition, member="a", now=0, lease_until=10
            )
        events = [make_parked(n, n % 2) for n in (4, 1, 2, 3, 6)]
        group_records.save("billing", generation=0, member="a", progress=[], parked=events)
        assert group_records.replaying("billing", {0, 1}) == []
        # Missing numbers are not counted; repeated ones count once.
        assert group_records.replay("billing", [2, 3, 3, 77]) == 2
        assert group_records.replaying("billing", {0, 1}) == [
            make_parked(2, 0, replaying=True),
            make_parked(3, 1, replaying=True),
        ]
        assert group_records.replaying("billing", {1, 7}) == [make_parked(3, 1, replaying=True)]
        # Those already replaying are counted again.
        assert group_records.replay("billing", None) == 5
        assert [e.sequence_number for e in group_records.replaying("billing", {0})] == [2, 4, 6]
        # A replay acknowledged by the owner is unparked.
        group_records.save("billing", generation=0, member="a", progress=[], unparked=[4])
        assert group_records.drop("billing", [1, 1, 4, 99]) == 1
        assert [e.sequence_number for e in group_records.parked("billing")] == [2, 3, 6]
        assert group_records.parked_count("billing") == 3
        assert group_records.drop("billing", None) == 3
        assert group_records.parked("billing") == []
        assert group_records.parked_count("billing") == 0
        assert group_records.replay("billing", None) == 0

    # Races ---------------------------------------------------------------------------------

    @pytest.mark.parametrize("expired", [False, True], ids=["unowned", "expired-lease"])
    def test_of_two_members_racing_to_claim_a_partition_exactly_one_wins(
        self, group_records_pair: tuple[GroupRecords, GroupRecords], expired: bool
    ) -> None:
        first, second = group_records_pair
        first.create(make_definition(settings=GroupSettings(partitions=32)))
        partitions = range(32)
        if expired:
            for partition in partitions:
                second.claim(
                    "billing",
                    generation=0,
                    partition=partition,
                    member="gone",
                    now=0,
                    lease_until=1,
                )
        barrier = threading.Barrier(2)
        won: dict[str, list[int]] = {"a": [], "b": []}
        errors: list[BaseException] = []

        def race(records: GroupRecords, member: str) -> None:
            try:
                for partition in partitions:
                    barrier.wait(timeout=30)
                    if (
                        records.claim(
                            "billing",
                            generation=0,
                            partition=partition,
                            member=member,
                            now=2,
                            lease_until=60,
                        )
                        is not None
                    ):
                        won[member].append(partition)
            except BaseException as error:
                errors.append(error)
                barrier.abort()

        threads = [
            threading.Thread(target=race, args=(first, "a")),
            threading.Thread(target=race, args=(second, "b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sorted(won["a"] + won["b"]) == list(partitions)
        # The winners own their partitions, as both handles see it.
        assert first.renew(
            "billing", generation=0, member="a", partitions=set(partitions), lease_until=70
        ) == set(won["a"])
        assert second.renew(
            "billing", generation=0, member="b", partitions=set(partitions), lease_until=70
        ) == set(won["b"])

    def test_members_of_two_servers_beating_at_once_all_get_through(
        self, group_records_pair: tuple[GroupRecords, GroupRecords]
    ) -> None:
        first, second = group_records_pair
        first.create(make_definition())
        # Each round, each side brings back members that expired, while forgetting the
        # other side's expired ones: both change the same rows at once.
        rounds = 20
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def beat(records: GroupRecords, side: str) -> None:
            try:
                for round_number in range(rounds):
                    barrier.wait(timeout=30)
                    for index in range(4):
                        records.heartbeat(
                            "billing",
                            f"{side}-{(round_number + index) % 6}",
                            now=float(round_number),
                            expires_at=round_number + 0.5,
                        )
            except BaseException as error:
                errors.append(error)
                barrier.abort()

        threads = [
            threading.Thread(target=beat, args=(first, "a")),
            threading.Thread(target=beat, args=(second, "b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        last = rounds - 1
        expected = sorted(f"{side}-{(last + i) % 6}" for side in "ab" for i in range(4))
        assert first.members("billing", now=last) == expected
