"""The benchmark finds the release peer's Python 3.13 itself, not through a launcher that
fails: pyenv's ``python3.13`` shim exits 127 when 3.13 is installed but not selected.

The interpreters here are small scripts that behave as the shim and as an installed 3.13
answer ``-c 'import sys; print(sys.version)'``; nothing else of the machine is used.
"""

from pathlib import Path

import pytest

from bench.logicblocks_peer import find_python_313


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH holding only a failing ``python3.13`` shim, and an empty pyenv root."""
    shims = tmp_path / "shims"
    _script(shims / "python3.13", "echo 'pyenv: python3.13: command not found' >&2; exit 127")
    root = tmp_path / "pyenv"
    (root / "versions").mkdir(parents=True)
    monkeypatch.setenv("PATH", str(shims))
    monkeypatch.setenv("PYENV_ROOT", str(root))
    return root


def test_an_installed_313_is_used_past_a_shim_that_exits_127(machine: Path) -> None:
    for version in ("3.13.2", "3.13.10"):
        _script(
            machine / "versions" / version / "bin" / "python3.13",
            f"echo '{version} (main, Jan  1 2026)'",
        )
    interpreter, _ = find_python_313()
    assert interpreter == str(machine / "versions" / "3.13.10" / "bin" / "python3.13")


def test_a_folder_named_313_must_also_run_as_313(machine: Path) -> None:
    _script(machine / "versions" / "3.13.1" / "bin" / "python3.13", "echo '3.12.9 (main)'")
    interpreter, why = find_python_313()
    assert interpreter is None
    assert "3.13.1/bin/python3.13 is 3.12.9" in why


def test_without_a_313_the_reason_names_what_was_tried(machine: Path) -> None:
    interpreter, why = find_python_313()
    assert interpreter is None
    assert why.startswith("no Python 3.13 on this machine")
    assert "shims/python3.13 exits 127" in why
