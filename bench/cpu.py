"""CPU time per operation: what the server, the client and PostgreSQL each spent.

What it counts is the CPU time (user and system) the kernel charges to processes, read at
both ends of a measured interval; a figure divides the difference by the interval's
operations.

- A *process* (the client: the benchmark's own process, or a subscriber process): the CPU
  time of all its threads, live or ended, and nothing of its children. It is read from the
  process's CPU clock (``clock_gettime`` on the clock of ``clock_getcpuclockid(pid)``,
  exact to the nanosecond), not from ``utime + stime`` in ``/proc/PID/stat``: those are
  whole clock ticks (10 ms) per process, and 32 PostgreSQL backends each doing 2 ms of work
  in a repetition would mostly read as no time at all.
- A *tree* (the server, PostgreSQL): the root and every live descendant (found by their
  parent in ``/proc/*/stat``), each with its own CPU time plus its ``cutime + cstime``. A
  process that ends is reaped by its parent, and the kernel then adds its time to the
  parent's ``cutime + cstime``; so a PostgreSQL backend that served a connection and exited
  still counts, through the postmaster (to a tick, the only rounding left). The tree is read
  again when the root reaped a child while it was being read, so that child is counted once,
  not twice or not at all.

The parsing and arithmetic (``parse_stat``, ``descendants``, ``tree_total``,
``per_operation``) do no I/O; ``read_stat``, ``process_seconds``, ``tree_seconds`` and
``Meter`` read the kernel's figures, and a ``Stopwatch`` takes a ``Meter``'s readings at the
ends of the interval a workload times.
This module uses the standard library only: the release peer's script (on another Python)
loads it by path.
"""

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TICKS_PER_SECOND",
    "Meter",
    "Reading",
    "Stat",
    "Stopwatch",
    "Usage",
    "descendants",
    "parse_stat",
    "per_operation",
    "process_seconds",
    "read_stat",
    "tree_seconds",
    "tree_total",
]

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# A tree whose root keeps reaping children while it is read gets this many tries; the last
# is used as it is (one child's time may then be off by the time it had).
_ATTEMPTS = 5
_PROC = Path("/proc")


@dataclass(frozen=True)
class Stat:
    """The fields of ``/proc/PID/stat`` this module uses; times in clock ticks."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def own(self) -> int:
        """Ticks the process itself spent (all its threads)."""
        return self.utime + self.stime

    @property
    def reaped(self) -> int:
        """Ticks its ended and reaped descendants spent."""
        return self.cutime + self.cstime


def parse_stat(text: str) -> Stat:
    """A ``Stat`` from the text of ``/proc/PID/stat``.

    The command name (field 2) is in parentheses and may itself hold spaces and
    parentheses, so the fields after it are counted from the last ``)``.
    """
    head, _, tail = text.rpartition(")")
    if not head or "(" not in head:
        raise ValueError(f"not a /proc/PID/stat line: {text[:80]!r}")
    # tail fields: state (field 3), ppid (4), ... utime (14), stime, cutime, cstime (17).
    fields = tail.split()
    return Stat(
        pid=int(head.split("(", 1)[0]),
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def descendants(stats: Iterable[Stat], root: int) -> list[Stat]:
    """Every process below ``root`` (children, their children, ...), not ``root`` itself."""
    children: dict[int, list[Stat]] = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
    found: list[Stat] = []
    waiting = [root]
    while waiting:
        for child in children.get(waiting.pop(), []):
            if child.pid != root:
                found.append(child)
                waiting.append(child.pid)
    return found


def tree_total(members: Iterable[tuple[Stat, float]]) -> float:
    """CPU seconds a tree has spent, from each live member (the root among them) with its
    own CPU seconds: those, and the ticks of its reaped children."""
    return sum(own + stat.reaped / TICKS_PER_SECOND for stat, own in members)


@dataclass(frozen=True)
class Reading:
    """CPU seconds each side had spent at one moment; None for a side not measured."""

    server: float | None = None
    client: float | None = None
    postgres: float | None = None


@dataclass(frozen=True)
class Usage:
    """Microseconds of CPU per operation on each side over one measured interval."""

    server: float | None = None
    client: float | None = None
    postgres: float | None = None


def _per(before: float | None, after: float | None, operations: int) -> float | None:
    if before is None or after is None or operations <= 0:
        return None
    return (after - before) * 1_000_000 / operations


def per_operation(before: Reading, after: Reading, operations: int) -> Usage:
    """Microseconds per operation on each side between two readings."""
    return Usage(
        server=_per(before.server, after.server, operations),
        client=_per(before.client, after.client, operations),
        postgres=_per(before.postgres, after.postgres, operations),
    )


# Reading /proc ------------------------------------------------------------------------------


def read_stat(pid: int) -> Stat:
    """``/proc/PID/stat`` of a live (or not yet reaped) process."""
    return parse_stat((_PROC / str(pid) / "stat").read_text())


def _all_stats() -> list[Stat]:
    stats: list[Stat] = []
    for entry in os.scandir(_PROC):
        if not entry.name.isdigit():
            continue
        try:
            stats.append(parse_stat(Path(entry.path, "stat").read_text()))
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended (and reaped) since the folder was listed
    return stats


def _process_clock(pid: int) -> int:
    # What clock_getcpuclockid(pid) returns on Linux: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
    return ((~pid) << 3) | 2


def process_seconds(pid: int) -> float:
    """CPU seconds process ``pid`` has spent itself, all threads, children not included.

    Raises ``ProcessLookupError`` when there is no such process (or it has been reaped).
    """
    try:
        return time.clock_gettime(_process_clock(pid))
    except OSError as error:
        raise ProcessLookupError(f"no process {pid}") from error


def tree_seconds(root: int) -> float:
    """CPU seconds process ``root`` and all its descendants have spent, ended ones included."""
    last = read_stat(root)
    for _ in range(_ATTEMPTS):
        first = last
        measured: list[tuple[Stat, float]] = []
        for member in descendants(_all_stats(), root):
            try:
                measured.append((member, process_seconds(member.pid)))
            except ProcessLookupError:
                continue  # reaped since the scan: the root's reaped time changes below
        own = process_seconds(root)
        last = read_stat(root)
        if last.reaped == first.reaped:
            break
    return tree_total([(last, own), *measured])


@dataclass(frozen=True)
class Meter:
    """What one subject's readings cover: the server's and PostgreSQL's roots (trees) and
    the client process; None for a side the subject does not have."""

    server: int | None = None
    client: int | None = None
    postgres: int | None = None

    def _trees(self) -> tuple[float | None, float | None]:
        server = None if self.server is None else tree_seconds(self.server)
        postgres = None if self.postgres is None else tree_seconds(self.postgres)
        return server, postgres

    def _client(self) -> float | None:
        return None if self.client is None else process_seconds(self.client)

    def begin(self) -> Reading:
        """The CPU seconds spent so far, at the start of an interval: the client is read
        last, so the CPU the client spends scanning /proc for the trees is not counted."""
        server, postgres = self._trees()
        return Reading(server=server, client=self._client(), postgres=postgres)

    def end(self) -> Reading:
        """The CPU seconds spent so far, at the end of an interval: the client first."""
        client = self._client()
        server, postgres = self._trees()
        return Reading(server=server, client=client, postgres=postgres)


class Stopwatch:
    """The measured interval of one repetition: its wall time and, with a ``meter``, the
    CPU each side spent in it. A workload calls ``start()`` and ``stop()`` around exactly
    the work it times (not its set-up), then ``rate(operations)``."""

    def __init__(self, meter: Meter | None = None) -> None:
        self.meter = meter
        self.seconds = 0.0
        self.operations = 0
        self._started = 0.0
        self._before = Reading()
        self._after = Reading()

    def start(self) -> None:
        """Read the CPU (if metered), then start the clock."""
        if self.meter is not None:
            self._before = self.meter.begin()
        self._started = time.perf_counter()

    def stop(self) -> float:
        """Stop the clock, then read the CPU (if metered); the wall time in seconds."""
        self.seconds = time.perf_counter() - self._started
        if self.meter is not None:
            self._after = self.meter.end()
        return self.seconds

    def rate(self, operations: int) -> float:
        """Record how many operations the interval did; operations per second."""
        self.operations = operations
        return operations / self.seconds if self.seconds > 0 else float("inf")

    @property
    def usage(self) -> Usage:
        """CPU microseconds per operation on each metered side."""
        return per_operation(self._before, self._after, self.operations)
