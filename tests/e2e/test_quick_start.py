"""The README's quick start: `serve` on the default SQLite file, the example against it,
then a `kill -9` and a restart, after which the events are still there."""

import contextlib
import io
import re
import signal
import sys
from pathlib import Path

from tests.support.readme import README, example_code
from tests.support.server_process import ServerProcess

IN_PROCESS = "adapter = adapters.InMemoryStorageAdapter()"
SERVE = [sys.executable, "-m", "logicblocks.event.server.cli", "serve", "--listen", "127.0.0.1:0"]


def run(code: str) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, str(README), "exec"), {})
    return output.getvalue()


def read_back_code() -> str:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2, "the quick start shows the adapter line and a read-back"
    return blocks[1]


def test_events_survive_a_kill_and_restart_of_the_default_server(tmp_path: Path) -> None:
    with ServerProcess(SERVE, cwd=tmp_path) as server:
        assert any("sqlite:///data/events.db" in line for line in server.lines)
        example = example_code().replace(
            IN_PROCESS, f'adapter = adapters.GrpcStorageAdapter(target="{server.target}")'
        )
        run(example + "\nadapter.close()\n")
        server.signal(signal.SIGKILL)
        server.wait(timeout=30)
    assert (tmp_path / "data" / "events.db").exists()

    with ServerProcess(SERVE, cwd=tmp_path) as server:
        printed = run(read_back_code().replace("127.0.0.1:50051", server.target))
    assert printed.splitlines() == [
        "0 profile-created {'name': 'Joe Bloggs', 'email': 'joe.bloggs@example.com'}",
        "1 date-of-birth-set {'dob': '1992-07-10'}",
    ]
