"""docs/consistency.md's Python runs as written, in order, and prints what it says."""

import re
from pathlib import Path

from google.protobuf import descriptor_pool, message_factory, text_format

import logicblocks.event.v1.event_store_pb2  # noqa: F401  (registers the types parsed)
from tests.support.doc_examples import printed_by_python_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "consistency.md"


def test_the_consistency_examples_run_as_written() -> None:
    printed = printed_by_python_blocks(DOC)
    assert printed[-2:] == ["course c1 is full", "student s1 already takes 2 courses"]


def test_the_proto_examples_are_messages_of_the_types_they_name() -> None:
    blocks = re.findall(r"```textproto\n# (\S+)\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) >= 4
    for type_name, text in blocks:
        message = message_factory.GetMessageClass(
            descriptor_pool.Default().FindMessageTypeByName(type_name)
        )()
        # Raises ParseError on a field or value the type does not have.
        text_format.Parse(text, message)
        assert message.ByteSize() > 0, type_name
