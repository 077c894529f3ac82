"""Partitions of a group: where a stream falls and who owns each partition."""

from collections import Counter

from logicblocks.event.storage.groups.partitions import (
    desired_owners,
    desired_partitions,
    partition_of,
)


def test_a_stream_falls_in_the_same_partition_in_every_process_and_version() -> None:
    # Stored progress is per partition: the hash may never change, so it is pinned here.
    assert partition_of("orders", "o-1", 32) == 6
    assert partition_of("orders", "o-2", 32) == 28
    assert partition_of("users", "o-1", 1024) == 792


def test_category_and_stream_are_not_confused_across_the_separator() -> None:
    assert partition_of("ab", "c", 1 << 16) != partition_of("a", "bc", 1 << 16)


def test_partitions_are_in_range_and_spread_over_streams() -> None:
    counts = Counter(partition_of("orders", f"o-{n}", 8) for n in range(8000))
    assert set(counts) == set(range(8))
    assert min(counts.values()) > 800


def test_every_partition_has_exactly_one_desired_owner_among_the_live_members() -> None:
    members = ["a", "b", "c"]
    owned = {member: desired_partitions("billing", 64, members, member) for member in members}
    assert sum(len(partitions) for partitions in owned.values()) == 64
    assert set().union(*owned.values()) == set(range(64))
    owners = desired_owners("billing", 64, members)
    for member, partitions in owned.items():
        assert all(owners[p] == member for p in partitions)


def test_the_answer_does_not_depend_on_the_order_members_are_listed_in() -> None:
    assert desired_partitions("billing", 32, ["b", "a", "c"], "a") == desired_partitions(
        "billing", 32, ["c", "b", "a"], "a"
    )


def test_a_member_that_is_not_live_owns_nothing_and_no_members_means_no_owner() -> None:
    assert desired_partitions("billing", 32, ["a", "b"], "c") == set()
    assert desired_owners("billing", 32, []) == ()


def test_every_member_owns_a_fair_share_of_the_partitions() -> None:
    # The group goes at the pace of its busiest member: shares differ by one at most.
    for partitions in (1, 7, 32, 100, 1024):
        for count in (1, 2, 3, 4, 5, 9, 40):
            members = [f"consumer-{n}" for n in range(count)]
            sizes = Counter(desired_owners("billing", partitions, members))
            share = partitions // count
            assert sum(sizes.values()) == partitions
            assert all(sizes[m] in (share, share + 1) for m in members), (partitions, count)


def test_a_joining_member_takes_its_share_and_the_others_keep_nearly_all_they_had() -> None:
    before = desired_owners("billing", 256, ["a", "b", "c"])
    after = desired_owners("billing", 256, ["a", "b", "c", "d"])
    assert after.count("d") == 64
    # Partitions that changed hands between the members already there: only as their
    # shares filled in a different order.
    shuffled = [p for p in range(256) if before[p] != after[p] and after[p] != "d"]
    assert len(shuffled) <= 256 // 16
