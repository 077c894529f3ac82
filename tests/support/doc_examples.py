"""Running a document's Python examples as a reader would: every ```python block, in
order, as one program."""

import contextlib
import io
import re
from pathlib import Path

__all__ = ["printed_by_python_blocks"]


def printed_by_python_blocks(doc: Path) -> list[str]:
    """Run ``doc``'s Python blocks in order as one program; the lines it printed."""
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.DOTALL)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile("\n".join(blocks), str(doc), "exec"), {})
    return output.getvalue().splitlines()
