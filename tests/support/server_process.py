"""The server as a separate process, started the way users start it.

``ServerProcess(command, env)`` runs ``logicblocks-event-store serve`` (or any command that
ends up in it) with ``--listen 127.0.0.1:0``-style arguments, reads its structured log from
standard error, and learns the bound port from the ``event=listening`` line.
"""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "COMMAND",
    "ServerProcess",
    "descriptor_count",
    "healthy",
    "resident_set_bytes",
    "thread_count",
]

# The command as installed beside this interpreter, run the way users run it.
COMMAND = str(Path(sys.executable).parent / "logicblocks-event-store")

_LISTENING = re.compile(r"event=listening address=\S+ port=(\d+)")


class ServerProcess:
    """A server subprocess; use as a context manager (terminates it on exit)."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        start_timeout: float = 60.0,
        listening: re.Pattern[str] | None = None,
    ):
        self.lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            list(command),
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # ``listening`` finds the port in another log format (its group 1).
        self.port = int(self.wait_for_line(listening or _LISTENING, start_timeout).group(1))
        self.target = f"127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait for an output line matching ``pattern``; fail with the output so far."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                return match
        raise AssertionError(
            f"no line matching {pattern.pattern!r}; output:\n" + "\n".join(self.lines)
        )

    def signal(self, signal_number: int) -> None:
        """Send ``signal_number`` to the server process."""
        self.process.send_signal(signal_number)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; return its exit status and drain its output."""
        status = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return status

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def resident_set_bytes(pid: int) -> int:
    """The resident set size of process ``pid`` (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def descriptor_count(pid: int) -> int:
    """How many file descriptors process ``pid`` has open (Linux ``/proc``)."""
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def thread_count(pid: int) -> int:
    """The number of threads of process ``pid`` (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no Threads for process {pid}")


def healthy(target: str) -> bool:
    """Whether ``logicblocks-event-store health`` reports the server SERVING."""
    completed = subprocess.run(
        [COMMAND, "health", "--target", target, "--timeout", "5"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode == 0 and completed.stdout.strip() == "SERVING"
