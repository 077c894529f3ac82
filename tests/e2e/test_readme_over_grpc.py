"""The README's example against a real server, with only the adapter line changed."""

import contextlib
import io

from logicblocks.event.store.adapters import InMemoryStorageAdapter
from tests.support.grpc_server import running_server
from tests.support.readme import README, example_code

IN_PROCESS = "adapter = adapters.InMemoryStorageAdapter()"


def test_the_readme_example_runs_over_grpc_with_only_the_adapter_line_changed() -> None:
    code = example_code()
    assert code.count(IN_PROCESS) == 1
    with running_server(InMemoryStorageAdapter()) as target:
        over_grpc = code.replace(
            IN_PROCESS, f'adapter = adapters.GrpcStorageAdapter(target="{target}")'
        )
        assert "GrpcStorageAdapter(target=" in README.read_text(), "README shows no gRPC line"
        namespace: dict[str, object] = {}
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(over_grpc, str(README), "exec"), namespace)
        namespace["adapter"].close()  # type: ignore[attr-defined]
    expected = code.strip().splitlines()[-1].removeprefix("# ")
    assert output.getvalue().strip() == expected
