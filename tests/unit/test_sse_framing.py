"""How the HTTP face frames Server-Sent Events: what a browser's EventSource reads back."""

import json

from logicblocks.event.server.http.sse import _sse


def data_of(frame: str) -> str:
    """The data an EventSource assembles from ``frame``: its data lines joined by LF."""
    lines = frame.split("\n")
    return "\n".join(line[len("data: ") :] for line in lines if line.startswith("data: "))


def test_separators_json_strings_hold_stay_inside_one_data_line() -> None:
    # U+2028, U+2029 and U+0085 may stand unescaped in JSON strings; SSE lines end only
    # at CR and LF, so the payload must come through whole.
    data = json.dumps({"text": "a\u2028b\u2029c\u0085d"}, ensure_ascii=False)
    frame = _sse("stored", data, 7)

    assert frame.count("data: ") == 1
    assert json.loads(data_of(frame)) == {"text": "a\u2028b\u2029c\u0085d"}


def test_line_breaks_in_data_become_data_lines_joined_back() -> None:
    data = '{\n  "a": 1\r\n}'
    frame = _sse("stored", data, 3)

    assert frame.startswith("id: 3\nevent: stored\n")
    assert json.loads(data_of(frame)) == {"a": 1}
