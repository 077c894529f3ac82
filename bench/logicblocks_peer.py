"""The released ``logicblocks-event-store`` (a peer), which needs Python 3.13.

It cannot share our interpreter (it is 3.11, and both are ``logicblocks.event``), so it is
installed from PyPI into ``bench/.venv-peer`` on a Python 3.13 found on this machine, and
``bench/logicblocks_peer_script.py`` runs each workload there, in-process on the same
database, table ``lb_events`` (its columns; ``payload`` is ``jsonb`` as it expects).
"""

import glob
import json
import shutil
import subprocess
from pathlib import Path

import psycopg

__all__ = ["LogicblocksPeer"]

_HERE = Path(__file__).resolve().parent
_VENV = _HERE / ".venv-peer"
_SCRIPT = _HERE / "logicblocks_peer_script.py"
_PACKAGES = ["logicblocks.event.store", "psycopg[binary]", "psycopg-pool"]
_INSTALL_TIMEOUT = 600
_RUN_TIMEOUT = 600

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


def _python_313() -> str | None:
    for candidate in ("python3.13",):
        found = shutil.which(candidate)
        if found:
            return found
    matches = sorted(glob.glob("/root/.pyenv/versions/3.13*/bin/python3.13"))
    matches += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.13*/bin/python3.13")))
    return matches[-1] if matches else None


class LogicblocksPeer:
    """The peer's venv and workloads; ``unavailable`` says why it cannot run, if so."""

    def __init__(self, url: str) -> None:
        self.url = url
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
        if stamp.exists() and self._python.exists():
            return
        interpreter = _python_313()
        if interpreter is None:
            raise RuntimeError("no Python 3.13 interpreter on this machine (the release needs it)")
        print(f"  installing logicblocks-event-store into {_VENV} ...", flush=True)
        subprocess.run(
            [interpreter, "-m", "venv", str(_VENV)], check=True, timeout=_INSTALL_TIMEOUT
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

    def run(self, workload: str, repeats: int, **sizes: int) -> list[float]:
        """Run ``workload`` (w1, w2, w3) ``repeats`` times; events/s of each repetition."""
        arguments = [str(self._python), str(_SCRIPT), "--url", self.url]
        arguments += ["--workload", workload, "--repeats", str(repeats)]
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
        return [float(sample) for sample in result["samples"]]

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
