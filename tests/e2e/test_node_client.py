"""A client in another language, built from proto/ alone, against a real server.

The Node.js client (tests/e2e/node/client.js, @grpc/grpc-js and @grpc/proto-loader from
npm) publishes, retries a publish with ids and no timestamps and gets its receipts back,
meets a write condition failure and reads its details, and scans. The npm
packages are installed here (``npm ci``) when they are missing, so a fresh clone runs it.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter, InMemoryStorageAdapter
from tests.support.grpc_server import running_server

NODE_PROJECT = Path(__file__).parent / "node"


def ensure_node_modules() -> None:
    if (NODE_PROJECT / "node_modules" / "@grpc" / "grpc-js").is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None, "node is installed but npm is not: cannot install the client's deps"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=NODE_PROJECT,
        check=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    if node is None:
        # `make test` installs Node.js; only a bare pytest run elsewhere may lack it.
        if os.environ.get("CI"):
            pytest.fail("node is not installed: `make test` should have installed it")
        pytest.skip("node is not installed (make test installs it)")
    ensure_node_modules()
    return node


def run_client(node: str, target: str) -> dict[str, Any]:
    finished = subprocess.run(
        [node, str(NODE_PROJECT / "client.js"), target],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def test_a_node_client_publishes_meets_a_condition_failure_and_scans(node: str) -> None:
    with running_server(InMemoryStorageAdapter()) as target:
        result = run_client(node, target)

        published = result["published"]
        assert [event["position"] for event in published] == ["0", "1"]
        assert [event["sequence_number"] for event in published] == ["0", "1"]
        assert all(int(event["observed_at"]["seconds"]) > 0 for event in published)
        assert result["deprecated_events"] == 0

        # The retry with ids and no timestamps was recognised: the same receipts, each
        # event stored once.
        retry = result["retry"]
        assert retry["again"] == retry["first"]
        assert [receipt["id"] for receipt in retry["first"]] == ["node-retry-1", "node-retry-2"]
        with GrpcStorageAdapter(target=target) as adapter:
            retried = EventStore(adapter).stream(category="node", stream="e2e-retry").read()
        assert [event.id for event in retried] == ["node-retry-1", "node-retry-2"]

        failure = result["failure"]
        assert failure["code"] == failure["status_code"] == 9  # FAILED_PRECONDITION
        assert (failure["category"], failure["stream"]) == ("node", "e2e-1")
        assert failure["condition"]["position_is"]["position"] == "0"
        assert failure["last_position"] == "1"

        # Every violation names its field by its path from the request's root.
        assert result["field_paths"] == [
            ["target.stream"],
            ["events[1].name"],
            ["conditions[0].position_is.position"],
            ["target.category.category"],
        ]

        scanned = result["scanned"]
        assert [event["id"] for event in scanned] == [event["id"] for event in published]
        assert [event["sequence_number"] for event in scanned] == ["0", "1"]
        assert scanned[0]["payload"] == result["sent_payload"]

        # The Python client reads what Node wrote, big integer and all.
        with GrpcStorageAdapter(target=target) as adapter:
            events = EventStore(adapter).stream(category="node", stream="e2e-1").read()
        assert events[0].payload == {"name": "Zoë", "big": 123456789012345678901234567890}
        assert [e.name for e in events] == ["created", "renamed"]
