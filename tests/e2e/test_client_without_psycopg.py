"""The library installed without extras: no psycopg, and the gRPC client still works.

A fresh virtual environment gets ``pip install .`` of the build context, which leaves out
the ``postgres`` extra. In it, the server runs on SQLite, ``GrpcStorageAdapter`` publishes,
reads and follows through it, and asking for PostgreSQL storage says which extra to add.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.image import copy_build_context
from tests.support.server_process import ServerProcess

CLIENT = textwrap.dedent(
    """
    import sys
    from logicblocks.event.store import EventStore, adapters
    from logicblocks.event.types import NewEvent

    assert "psycopg" not in sys.modules
    with adapters.GrpcStorageAdapter(target=sys.argv[1]) as adapter:
        stream = EventStore(adapter).stream(category="plain", stream="s-1")
        stream.publish(events=[NewEvent(name="made", payload={"n": 1})])
        with stream.subscribe() as subscription:
            followed = next(subscription)
        print([event.name for event in stream.read()], followed.name)
    assert "psycopg" not in sys.modules, "the gRPC client loaded psycopg"
    """
)


def test_the_grpc_client_works_where_psycopg_is_not_installed(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    copy_build_context(context)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "."], cwd=context, check=True, timeout=600
    )
    missing = subprocess.run([python, "-c", "import psycopg"], capture_output=True, timeout=60)
    assert missing.returncode != 0, "psycopg is installed without the postgres extra"

    command = str(venv / "bin" / "logicblocks-event-store")
    storage = f"sqlite:///{tmp_path / 'events.db'}"
    with ServerProcess(
        [command, "serve", "--listen", "127.0.0.1:0", "--storage", storage], cwd=tmp_path
    ) as server:
        used = subprocess.run(
            [python, "-c", CLIENT, server.target],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert used.returncode == 0, used.stderr
        assert used.stdout == "['made'] made\n"

    refused = subprocess.run(
        [command, "serve", "--listen", "127.0.0.1:0", "--storage", "postgresql://u@127.0.0.1/db"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    # The structured log line, then the one line for the person at the terminal.
    said = refused.stderr.strip().splitlines()[-1]
    assert said.startswith("logicblocks-event-store: cannot open storage:"), refused.stderr
    assert "pip install 'logicblocks-event-store-server[postgres]'" in said
