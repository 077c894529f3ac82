"""Which partition a stream falls in, and which member of a group owns each partition.

Both answers are pure functions of their arguments, so every server on one database (and
every member) computes the same ones without talking to the others:

- ``partition_of``: a stable hash of the stream's category and name, modulo the group's
  partition count. All of a stream's events fall in one partition, which is what lets one
  owner keep them in order.
- ``desired_owner`` / ``desired_partitions``: rendezvous (highest random weight) hashing
  over the live members. When a member joins or leaves, only the partitions it wins or
  held change hands; the rest stay where they are, so their buffers and leases stay warm.

Nothing here reads a clock or storage; leases (``records``) make a change of owner safe.
"""

import hashlib
import zlib
from collections.abc import Iterable, Sequence

__all__ = ["desired_owner", "desired_partitions", "partition_of"]


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


def desired_owner(group: str, partition: int, members: Sequence[str]) -> str | None:
    """The member that should own ``partition`` of ``group``: the highest weight among
    ``members`` (``None`` when there are none). Ties go to the smaller id."""
    best: str | None = None
    best_weight = -1
    for member in sorted(members):
        weight = _weight(group, partition, member)
        if weight > best_weight:
            best, best_weight = member, weight
    return best


def desired_partitions(
    group: str, partitions: int, members: Iterable[str], member: str
) -> set[int]:
    """The partitions of ``group`` that ``member`` should own when ``members`` are live;
    none when ``member`` is not among them (a member that is not live owns nothing)."""
    live = sorted(set(members))
    if member not in live:
        return set()
    return {p for p in range(partitions) if desired_owner(group, p, live) == member}
