"""The layout's arrows point one way: each layer imports only the layers below it.

Read from the source (no imports run), so a new module that reaches the wrong way fails
here, with the module and the import named. docs/architecture.md draws the same picture.
"""

import ast
from pathlib import Path

import pytest

CLIENT = Path(__file__).parents[2] / "client" / "logicblocks" / "event"

# What each layer of logicblocks.event may import from logicblocks.event.
ALLOWED = {
    "types": {"types"},
    "projection": {"types", "projection"},
    "store": {"types", "store"},
    "storage": {"types", "store", "storage"},
    "transport": {"types", "store", "transport", "v1"},
    "testing": {"types", "store", "storage", "testing"},
}
# The documented import path of every adapter names them all; it imports each on first
# use, and only for type checkers up front.
EXEMPT = {CLIENT / "store" / "adapters" / "__init__.py"}


def imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and node.level == 0
            else []
        )
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["logicblocks", "event"] and len(parts) > 2:
                layers.add(parts[2])
    return layers


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = {
        str(path.relative_to(CLIENT)): sorted(imported_layers(path) - ALLOWED[layer])
        for path in sorted((CLIENT / layer).rglob("*.py"))
        if path not in EXEMPT
    }
    assert {module: layers for module, layers in wrong.items() if layers} == {}
