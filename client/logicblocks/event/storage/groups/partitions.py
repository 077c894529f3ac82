"""Which partition a stream falls in, and which member of a group owns each partition.

Both answers are pure functions of their arguments, so every server on one database (and
every member) computes the same ones without talking to the others:

- ``partition_of``: a stable hash of the stream's category and name, modulo the group's
  partition count. All of a stream's events fall in one partition, which is what lets one
  owner keep them in order.
- ``desired_owners`` / ``desired_partitions``: rendezvous (highest random weight) hashing
  over the live members, bounded to a fair share each: every member owns
  ``partitions // members`` partitions or one more. Plain rendezvous hashing leaves
  shares uneven (with 32 partitions over 4 members one may win 12 and another 5), and a
  group goes at the pace of its busiest member. When a member joins or leaves, the
  partitions it takes or held change hands, and a few more between the others as their
  shares fill in a different order; the rest stay where they are, so their buffers and
  leases stay warm.

Nothing here reads a clock or storage; leases (``records``) make a change of owner safe.
"""

import functools
import hashlib
import zlib
from collections.abc import Iterable

__all__ = ["desired_owners", "desired_partitions", "partition_of"]


def partition_of(category: str, stream: str, partitions: int) -> int:
    """The partition (0 to ``partitions - 1``) that every event of the stream falls in.

    CRC-32 of the UTF-8 ``category NUL stream``: stable across processes and versions
    (unlike ``hash()``, which is salted per process), and cheap enough to run on every
    event read. NUL cannot occur in a name, so no two streams share the hashed text.
    """
    text = f"{category}\0{stream}".encode("utf-8", "surrogatepass")
    return zlib.crc32(text) % partitions


def _weight(group: str, partition: int, member: str) -> int:
    # blake2b rather than CRC-32: the weights of one partition across members must look
    # independent, or one member would win most partitions. Run only when members change.
    text = f"{group}\0{partition}\0{member}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@functools.lru_cache(maxsize=64)
def _assignment(group: str, partitions: int, live: tuple[str, ...]) -> tuple[str, ...]:
    # The owner of each partition: the (weight, member, partition) triples taken by
    # descending weight, each while the partition is unowned and the member has room.
    # Room is the fair share: partitions // members each, and one more for each of the
    # first (partitions % members) members offered a partition when already at that
    # share. The rooms add up to the partition count, so every partition is owned (a
    # partition is passed over only by members full for good).
    pairs = sorted(
        ((_weight(group, p, m), m, p) for p in range(partitions) for m in live),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )
    share, extra = divmod(partitions, len(live))
    owners: dict[int, str] = {}
    counts = dict.fromkeys(live, 0)
    for _, member, partition in pairs:
        if partition in owners:
            continue
        count = counts[member]
        if count > share or (count == share and extra == 0):
            continue
        if count == share:
            extra -= 1
        counts[member] = count + 1
        owners[partition] = member
    return tuple(owners[p] for p in range(partitions))


def desired_owners(group: str, partitions: int, members: Iterable[str]) -> tuple[str, ...]:
    """The member that should own each partition of ``group`` (by partition number) when
    ``members`` are live; empty when none are."""
    live = tuple(sorted(set(members)))
    return _assignment(group, partitions, live) if live else ()


def desired_partitions(
    group: str, partitions: int, members: Iterable[str], member: str
) -> set[int]:
    """The partitions of ``group`` that ``member`` should own when ``members`` are live;
    none when ``member`` is not among them (a member that is not live owns nothing)."""
    live = tuple(sorted(set(members)))
    if member not in live:
        return set()
    return {p for p, owner in enumerate(_assignment(group, partitions, live)) if owner == member}
