"""docs/consumer-groups.md's Python runs as written and prints what it says."""

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "consumer-groups.md"


def test_the_consumer_group_example_runs_as_written() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile("\n".join(blocks), str(DOC), "exec"), {})
    expected = re.findall(r"^# (billing .*)$", DOC.read_text(), re.MULTILINE)
    assert expected and output.getvalue().splitlines() == expected
