"""The README's example runs as written and prints the documented profile."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def example_code() -> str:
    text = README.read_text()
    section = text.split("## Example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README has no python example"
    return match.group(1)


def test_the_readme_example_runs_as_written() -> None:
    namespace: dict[str, object] = {}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(example_code(), str(README), "exec"), namespace)
    profile = namespace["profile"]
    assert profile.state == {  # type: ignore[attr-defined]
        "name": "Joe Bloggs",
        "email": "joe.bloggs@example.com",
        "dob": "1992-07-10",
    }
    assert profile.position == 1  # type: ignore[attr-defined]
    printed = output.getvalue().strip()
    expected = example_code().strip().splitlines()[-1].removeprefix("# ")
    assert printed == expected
