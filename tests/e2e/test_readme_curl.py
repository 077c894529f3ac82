"""The README's curl examples, run as written against the server started as users start it.

Only the port changes: the README says 8080 (what `make run` uses), and the test's server
listens on a free port instead. The publish must answer the stored event, the read must
find it, and the tail (``curl -N``) must stream it as a Server-Sent Event.
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading

from tests.support.readme import shell_commands
from tests.support.server_process import ServerProcess

SERVE = [
    sys.executable,
    "-m",
    "logicblocks.event.server.cli",
    "serve",
    "--storage",
    "memory://",
    "--listen",
    "127.0.0.1:0",
    "--http-listen",
    "127.0.0.1:0",
]
README_ADDRESS = "http://127.0.0.1:8080"
HTTP_LISTENING = re.compile(r"event=http_listening address=\S+ port=(\d+)")
DEADLINE = 30.0


def test_the_readme_curl_examples_publish_read_and_tail() -> None:
    assert shutil.which("curl"), "the README's examples need curl (make test installs it)"
    publish, read, tail = shell_commands("HTTP and JSON, with curl")
    assert "curl -N" in tail
    with ServerProcess(SERVE) as server:
        port = server.wait_for_line(HTTP_LISTENING, DEADLINE).group(1)

        def here(command: str) -> str:
            assert README_ADDRESS in command
            return command.replace(README_ADDRESS, f"http://127.0.0.1:{port}")

        published = subprocess.run(
            ["sh", "-c", here(publish)], capture_output=True, text=True, timeout=DEADLINE
        )
        assert published.returncode == 0, published.stderr
        (stored,) = json.loads(published.stdout)["events"]
        assert (stored["name"], stored["payload"]) == ("opened", {"owner": "joe"})

        page = subprocess.run(
            ["sh", "-c", here(read)], capture_output=True, text=True, timeout=DEADLINE
        )
        assert [event["id"] for event in json.loads(page.stdout)["events"]] == [stored["id"]]

        # A session of its own: the test ends the shell and its curl together, by group.
        tailing = subprocess.Popen(
            ["sh", "-c", here(tail)], stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert tailing.stdout is not None
        stdout = tailing.stdout
        lines: queue.Queue[str] = queue.Queue()

        def read_lines() -> None:
            for line in stdout:
                lines.put(line)

        reader = threading.Thread(target=read_lines, daemon=True)
        reader.start()
        try:
            seen: list[str] = []
            while not any(stored["id"] in line for line in seen):
                seen.append(lines.get(timeout=DEADLINE))
            assert seen[-1].startswith("data: ")
            assert seen[-2:-1] == ["event: stored\n"]
            assert seen[-3:-2] == [f"id: {stored['sequence_number']}\n"]
        finally:
            os.killpg(tailing.pid, signal.SIGTERM)
            tailing.wait(timeout=DEADLINE)
            reader.join(timeout=DEADLINE)
            stdout.close()
