"""The benchmark's CPU accounting (bench/cpu.py): parsing /proc/PID/stat, the process-tree
arithmetic, per-operation figures, and a real process tree whose children ended and were
reaped (their time must still count) or still run."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from bench.cpu import (
    TICKS_PER_SECOND,
    Reading,
    Stat,
    descendants,
    parse_stat,
    per_operation,
    process_seconds,
    read_stat,
    tree_seconds,
    tree_total,
)


def _stat_line(pid: int, comm: str, ppid: int, times: tuple[int, int, int, int]) -> str:
    utime, stime, cutime, cstime = times
    # Fields 3-13, then utime..cstime (14-17), then a few of the rest.
    return (
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 120 0 0 0 "
        f"{utime} {stime} {cutime} {cstime} 20 0 1 0 12345 4096 100\n"
    )


def test_parse_stat_counts_fields_after_the_last_parenthesis() -> None:
    # A command name may hold spaces and parentheses of its own.
    text = _stat_line(4242, "post gres: (x) idle)", 17, (7, 3, 40, 5))
    assert parse_stat(text) == Stat(pid=4242, ppid=17, utime=7, stime=3, cutime=40, cstime=5)


def test_parse_stat_reads_this_process() -> None:
    stat = read_stat(os.getpid())
    assert stat.pid == os.getpid()
    assert stat.ppid == os.getppid()


def test_parse_stat_refuses_other_text() -> None:
    with pytest.raises(ValueError, match="/proc/PID/stat"):
        parse_stat("no parentheses here")


def test_descendants_walks_the_whole_tree_below_the_root_only() -> None:
    stats = [
        Stat(pid=1, ppid=0, utime=0, stime=0, cutime=0, cstime=0),
        Stat(pid=10, ppid=1, utime=1, stime=0, cutime=0, cstime=0),  # the root
        Stat(pid=11, ppid=10, utime=2, stime=0, cutime=0, cstime=0),
        Stat(pid=12, ppid=11, utime=3, stime=0, cutime=0, cstime=0),
        Stat(pid=13, ppid=10, utime=4, stime=0, cutime=0, cstime=0),
        Stat(pid=14, ppid=1, utime=5, stime=0, cutime=0, cstime=0),  # a sibling of the root
    ]
    assert sorted(s.pid for s in descendants(stats, 10)) == [11, 12, 13]
    assert descendants(stats, 12) == []


def test_tree_total_adds_each_members_own_seconds_and_reaped_ticks() -> None:
    members = [
        (Stat(pid=10, ppid=1, utime=100, stime=20, cutime=300, cstime=40), 1.25),
        (Stat(pid=11, ppid=10, utime=5, stime=6, cutime=7, cstime=8), 0.5),
        (Stat(pid=12, ppid=10, utime=1, stime=0, cutime=0, cstime=0), 0.01),
    ]
    # Own time comes from the exact clock, not from utime + stime.
    expected = 1.25 + 0.5 + 0.01 + (300 + 40 + 7 + 8) / TICKS_PER_SECOND
    assert tree_total(members) == pytest.approx(expected)


def test_per_operation_is_microseconds_per_operation_of_each_measured_side() -> None:
    before = Reading(server=1.0, client=2.0, postgres=None)
    after = Reading(server=1.5, client=2.25, postgres=None)
    usage = per_operation(before, after, 1000)
    assert usage.server == pytest.approx(500.0)
    assert usage.client == pytest.approx(250.0)
    assert usage.postgres is None
    assert per_operation(before, after, 0).server is None


def test_process_seconds_is_the_process_cpu_clock_of_every_thread() -> None:
    before = time.process_time()
    mine = process_seconds(os.getpid())
    after = time.process_time()
    assert before <= mine <= after


def test_process_seconds_of_a_reaped_process_is_refused() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(ProcessLookupError):
        process_seconds(child.pid)


# A grandchild: spends 0.3 s of CPU by its own clock, says how much, and waits.
_BURN = textwrap.dedent(
    """
    import sys, time
    started = time.process_time()
    while time.process_time() - started < 0.3:
        pass
    print(time.process_time(), flush=True)
    sys.stdin.readline()
    """
)
# The child runs one grandchild to its end (reaped, so only the child's cutime/cstime holds
# it), leaves another running, reports both, and waits.
_TREE = textwrap.dedent(
    """
    import json, subprocess, sys

    def burn():
        return subprocess.Popen(
            [sys.executable, "-c", sys.argv[1]],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    ended = burn()
    ended_cpu = float(ended.stdout.readline())
    ended.stdin.close()
    ended.wait()
    running = burn()
    running_cpu = float(running.stdout.readline())
    report = {"ended": ended_cpu, "running": running_cpu, "running_pid": running.pid}
    print(json.dumps(report), flush=True)
    sys.stdin.readline()
    running.stdin.close()
    running.wait()
    """
)


def test_a_tree_counts_children_that_ended_and_children_that_run() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _TREE, _BURN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        report = json.loads(child.stdout.readline())
        # The grandchild that still runs is found below the child.
        members = descendants([read_stat(report["running_pid"])], child.pid)
        assert [m.pid for m in members] == [report["running_pid"]]
        # The ended grandchild counts through cutime + cstime: whole ticks, each up to one short.
        slack = 2 / TICKS_PER_SECOND
        own = process_seconds(child.pid)
        total = tree_seconds(child.pid)
        assert total >= own + report["ended"] + report["running"] - slack
        # A live process's own time is exact: at least what it had counted itself.
        assert process_seconds(report["running_pid"]) >= report["running"]
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
