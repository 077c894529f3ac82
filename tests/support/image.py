"""The server image's build, as the Dockerfile states it, for tests that run it without Docker."""

import re
import shutil
from pathlib import Path

__all__ = ["DOCKERFILE", "ROOT", "copy_build_context", "dockerfile_instructions"]

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            instructions.append((instruction.upper(), arguments.strip()))
    return instructions


def copy_build_context(destination: Path) -> None:
    """Copy what the Dockerfile's COPY instructions copy, and nothing else."""
    for instruction, arguments in dockerfile_instructions():
        if instruction != "COPY":
            continue
        *sources, _ = arguments.split()
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(
                    path,
                    destination / source,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
                )
            else:
                shutil.copy2(path, destination / source)
