"""The README's example runs as written and prints the documented profile."""

import contextlib
import io

from tests.support.readme import README, example_code


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
