"""py-spy on the server during a workload, when py-spy is installed (it is not a dependency:
``.venv/bin/pip install py-spy``), and a summary of where the samples fell."""

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

__all__ = ["profiled", "summarize"]


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def profiled(pid: int, output: Path) -> Iterator[bool]:
    """Record ``pid`` into ``output`` (collapsed stacks) for the block; yields whether it
    is recording."""
    py_spy = _py_spy()
    if py_spy is None:
        yield False
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            *(py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"),
            *("--output", str(output), "--nonblocking", "--threads"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield True
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _function(frame: str) -> str:
    # A raw frame is "function (path/to/file.py:line)"; keep the function and file name.
    name, _, where = frame.partition(" (")
    file = where.rsplit("/", 1)[-1].split(":")[0]
    return f"{name} ({file})" if file else name


def summarize(output: Path, top: int = 15) -> str:
    """The functions with the most samples on top of the stack (self) and anywhere on it
    (inclusive), as text."""
    if not output.exists():
        return f"no profile at {output}"
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in output.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(frame) for frame in stack.split(";") if not frame.startswith("thread")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if total == 0:
        return f"no samples in {output}"
    lines = [f"{output.name}: {total} samples", "  self:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive:")
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)
