"""The released ``logicblocks-event-store`` (a peer), which needs Python 3.13.

It cannot share our interpreter (it is 3.11, and both are ``logicblocks.event``), so it is
installed from PyPI into ``bench/.venv-peer`` on a Python 3.13 found on this machine, and
``bench/logicblocks_peer_script.py`` runs each workload there, in-process on the same
database, table ``lb_events`` (its columns; ``payload`` is ``jsonb`` as it expects).

The interpreter is looked for where it is, not through a launcher: pyenv's ``python3.13``
shim on PATH exits 127 when 3.13 is installed but not the selected version, so pyenv is
asked for 3.13's folder (``pyenv prefix 3.13``) and its ``versions/3.13*`` folders are
looked in before PATH, and each candidate must run and report 3.13 before it is used.
Debian 12's packages and PyPI have no Python 3.13 to install, so without one on the machine
the peer's rows say which places were tried.
"""

import glob
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from .cpu import Usage

__all__ = ["LogicblocksPeer", "find_python_313"]

_HERE = Path(__file__).resolve().parent
_VENV = _HERE / ".venv-peer"
_SCRIPT = _HERE / "logicblocks_peer_script.py"
_PACKAGES = ["logicblocks.event.store", "psycopg[binary]", "psycopg-pool"]
_INSTALL_TIMEOUT = 600
_RUN_TIMEOUT = 600
_PROBE_TIMEOUT = 30

_CREATE = """
CREATE TABLE IF NOT EXISTS lb_events (
    id text PRIMARY KEY,
    name text NOT NULL,
    stream text NOT NULL,
    category text NOT NULL,
    position integer NOT NULL,
    sequence_number bigserial NOT NULL,
    payload jsonb NOT NULL,
    observed_at timestamptz NOT NULL,
    occurred_at timestamptz NOT NULL
)
"""
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS lb_events_sequence ON lb_events (sequence_number)",
    "CREATE INDEX IF NOT EXISTS lb_events_stream ON lb_events (category, stream, position)",
)


def _version_key(path: str) -> tuple[int, ...]:
    # .../versions/3.13.10/bin/python3.13 after .../versions/3.13.9/bin/python3.13
    name = Path(path).parent.parent.name
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def _ask(command: list[str]) -> subprocess.CompletedProcess[str] | str:
    """What ``command`` printed and returned, or why it could not run."""
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=_PROBE_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        return str(error)


def _candidates() -> list[str]:
    """Where a Python 3.13 may be, best first: pyenv's own answer, its versions folder
    (newest first), then ``python3.13`` on PATH."""
    found: list[str] = []
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        answer = _ask([pyenv, "prefix", "3.13"])
        if not isinstance(answer, str) and answer.returncode == 0:
            found += [f"{p}/bin/python3.13" for p in answer.stdout.strip().split(":") if p]
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found += sorted(
        glob.glob(str(root / "versions" / "3.13*" / "bin" / "python3.13")),
        key=_version_key,
        reverse=True,
    )
    on_path = shutil.which("python3.13")
    if on_path is not None:
        found.append(on_path)
    return list(dict.fromkeys(found))


def _reports_313(interpreter: str) -> str | None:
    """None when ``interpreter`` runs and is 3.13, else what it did instead."""
    answer = _ask([interpreter, "-c", "import sys; print(sys.version)"])
    if isinstance(answer, str):
        return f"does not run ({answer})"
    if answer.returncode != 0:
        return f"exits {answer.returncode}"
    if not answer.stdout.startswith("3.13."):
        return f"is {answer.stdout.split()[0] if answer.stdout.split() else 'unknown'}"
    return None


def find_python_313() -> tuple[str | None, str]:
    """A Python 3.13 interpreter that runs, and what was tried (for the skip's reason)."""
    tried: list[str] = []
    for candidate in _candidates():
        problem = _reports_313(candidate)
        if problem is None:
            return candidate, ""
        tried.append(f"{candidate} {problem}")
    where = "; ".join(tried) if tried else "no pyenv 3.13 and no python3.13 on PATH"
    return None, f"no Python 3.13 on this machine, which the release needs (tried: {where})"


@dataclass
class PeerResult:
    """The peer's repetitions: events/s and CPU per operation (client, PostgreSQL)."""

    samples: list[float]
    cpu: list[Usage]


class LogicblocksPeer:
    """The peer's venv and workloads; ``unavailable`` says why it cannot run, if so."""

    def __init__(self, url: str, postmaster: int | None = None) -> None:
        self.url = url
        self.postmaster = postmaster
        self.version = ""
        self.unavailable: str | None = None
        self._python = _VENV / "bin" / "python"
        try:
            self._ensure_installed()
        except (OSError, subprocess.SubprocessError, RuntimeError) as error:
            self.unavailable = f"skipped: {error}"
            return
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(_CREATE)
            for statement in _INDEXES:
                connection.execute(statement)

    def _ensure_installed(self) -> None:
        stamp = _VENV / ".installed"
        # A venv whose interpreter has gone (pyenv's 3.13 removed) is made again.
        if stamp.exists() and _reports_313(str(self._python)) is None:
            return
        interpreter, why_not = find_python_313()
        if interpreter is None:
            raise RuntimeError(why_not)
        print(f"  installing logicblocks-event-store into {_VENV} with {interpreter}", flush=True)
        subprocess.run(
            [interpreter, "-m", "venv", "--clear", str(_VENV)],
            check=True,
            timeout=_INSTALL_TIMEOUT,
        )
        completed = subprocess.run(
            [str(self._python), "-m", "pip", "install", "-q", *_PACKAGES],
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"pip install failed: {completed.stderr.strip()[-300:]}")
        stamp.touch()

    def run(self, workload: str, repeats: int, **sizes: int) -> PeerResult:
        """Run ``workload`` (w1, w2, w3) ``repeats`` times; events/s and CPU per event of
        each repetition (the client is the peer's process)."""
        arguments = [str(self._python), str(_SCRIPT), "--url", self.url]
        arguments += ["--workload", workload, "--repeats", str(repeats)]
        if self.postmaster is not None:
            arguments += ["--postmaster", str(self.postmaster)]
        for name, value in sizes.items():
            arguments += [f"--{name}", str(value)]
        completed = subprocess.run(
            arguments, capture_output=True, text=True, timeout=_RUN_TIMEOUT, check=False
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"the peer script failed ({completed.returncode}): {completed.stderr[-1500:]}"
            )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        self.version = str(result["version"])
        return PeerResult(
            samples=[float(sample) for sample in result["samples"]],
            cpu=[Usage(**usage) for usage in result.get("cpu", [])],
        )

    def load_from_events(self) -> int:
        """Replace ``lb_events`` with a copy of our ``events`` table (same rows, same order)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute("TRUNCATE lb_events RESTART IDENTITY")
            connection.execute(
                "INSERT INTO lb_events (id, name, stream, category, position, payload,"
                " observed_at, occurred_at)"
                " SELECT id, name, stream, category, position, payload::jsonb,"
                " observed_at, occurred_at FROM events ORDER BY sequence_number"
            )
            row = connection.execute("SELECT count(*) FROM lb_events").fetchone()
            return int(row[0]) if row else 0
