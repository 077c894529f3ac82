"""docs/consumer-groups.md's Python runs as written and prints what it says."""

import re
from pathlib import Path

from tests.support.doc_examples import printed_by_python_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "consumer-groups.md"


def test_the_consumer_group_example_runs_as_written() -> None:
    expected = re.findall(r"^# (billing .*)$", DOC.read_text(), re.MULTILINE)
    assert expected and printed_by_python_blocks(DOC) == expected
