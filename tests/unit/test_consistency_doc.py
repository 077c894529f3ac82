"""docs/consistency.md's Python runs as written, in order, and prints what it says."""

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "consistency.md"


def test_the_consistency_examples_run_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile("\n".join(blocks), str(DOC), "exec"), {})
    printed = output.getvalue().splitlines()
    assert printed[-2:] == ["course c1 is full", "student s1 already takes 2 courses"]
