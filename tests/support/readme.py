"""The README's examples, as the tests that run them read them."""

import re
import shlex
from pathlib import Path

__all__ = ["README", "example_code", "shell_commands"]

README = Path(__file__).resolve().parents[2] / "README.md"


def example_code() -> str:
    """The first Python code block under the README's "Example" heading."""
    text = README.read_text()
    section = text.split("## Example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README has no python example"
    return match.group(1)


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # a quotation still open: the command goes on on the next line
        return False
    return True


def shell_commands(heading: str) -> list[str]:
    """The commands of the first ``sh`` block under the README's ``heading``, one string
    each as a shell runs it (continued lines joined), comments left out."""
    section = README.read_text().split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, f"the README has no sh block under {heading!r}"
    commands: list[str] = []
    current = ""
    for line in match.group(1).splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current = f"{current}\n{line}" if current else line
        if _complete(current):
            commands.append(current)
            current = ""
    assert not current, f"an unfinished command in the README: {current!r}"
    return commands
