"""The README's Python example, as the tests that run it read it."""

import re
from pathlib import Path

__all__ = ["README", "example_code"]

README = Path(__file__).resolve().parents[2] / "README.md"


def example_code() -> str:
    """The first Python code block under the README's "Example" heading."""
    text = README.read_text()
    section = text.split("## Example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README has no python example"
    return match.group(1)
