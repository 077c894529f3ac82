"""The Dockerfile's commands, run without Docker: install, start, health check.

There is no Docker engine on these machines, so this runs what the image runs: the
Dockerfile's ``pip install`` of its build context (only the files it copies) into a fresh
virtual environment, then its ``CMD`` and its ``HEALTHCHECK`` command from that
environment. The commands are read from the Dockerfile itself, so they cannot drift.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.image import copy_build_context, dockerfile_instructions
from tests.support.server_process import ServerProcess

IMAGE_PORT = "50051"


def test_the_image_commands_give_a_healthy_server(tmp_path: Path) -> None:
    instructions = dockerfile_instructions()
    (run,) = [arguments for instruction, arguments in instructions if instruction == "RUN"]
    install = run.split("&&")[0].split()
    assert install[:2] == ["pip", "install"], install
    (cmd,) = [
        json.loads(arguments) for instruction, arguments in instructions if instruction == "CMD"
    ]
    (healthcheck,) = [
        arguments for instruction, arguments in instructions if instruction == "HEALTHCHECK"
    ]
    health_command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert any(instruction == "USER" for instruction, _ in instructions), "runs as root"
    assert ("EXPOSE", IMAGE_PORT) in instructions

    context = tmp_path / "context"
    context.mkdir()
    copy_build_context(context)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    subprocess.run([str(bin_dir / install[0]), *install[1:]], cwd=context, check=True, timeout=600)

    # The image listens on 0.0.0.0:50051; here a free loopback port, storage in tmp.
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "EVENT_STORE_LISTEN": "127.0.0.1:0",
        "EVENT_STORE_STORAGE": f"sqlite:///{tmp_path / 'data' / 'events.db'}",
    }
    start = [str(bin_dir / cmd[0]), *cmd[1:]]
    with ServerProcess(start, env=env, cwd=tmp_path) as server:
        check = [str(bin_dir / health_command[0])] + [
            server.target if part == f"127.0.0.1:{IMAGE_PORT}" else part
            for part in health_command[1:]
        ]
        checked = subprocess.run(check, capture_output=True, text=True, timeout=60)
        assert (checked.returncode, checked.stdout.strip()) == (0, "SERVING"), checked.stderr
        # The installed package is the one in the venv, not this checkout.
        assert (
            str(venv)
            in subprocess.run(
                [
                    str(bin_dir / "python"),
                    "-c",
                    "import logicblocks.event.server as s; print(s.__file__)",
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
                cwd=tmp_path,
            ).stdout
        )
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
