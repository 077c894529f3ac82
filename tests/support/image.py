"""The server image's build, as the Dockerfile states it, for tests that run it without Docker."""

import re
import shutil
from pathlib import Path, PurePosixPath

__all__ = [
    "DOCKERFILE",
    "ROOT",
    "copy_build_context",
    "docker_ignores",
    "dockerfile_instructions",
]

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


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A ``.dockerignore`` pattern as Docker reads it: ``**`` any directories, ``*`` and
    ``?`` within one path segment, relative to the context's root."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def docker_ignores(path: str) -> bool:
    """Whether Docker leaves ``path`` (relative to the root) out of the build context.

    As Docker decides: the last pattern that matches the path or one of its parent
    folders wins, and a ``!`` pattern keeps what it matches.
    """
    rules = [
        (line.startswith("!"), _pattern_regex(line.removeprefix("!")))
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    candidates = [str(PurePosixPath(path))] + [
        str(parent) for parent in PurePosixPath(path).parents if str(parent) != "."
    ]
    ignored = False
    for kept, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not kept
    return ignored
