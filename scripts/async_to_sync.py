"""Generate the blocking modules of the storage engines from their asynchronous sources.

The PostgreSQL engine's logic is written once, with ``async``/``await``, and its blocking
face (used by the documented ``PostgresStorageAdapter``) is derived from it, as psycopg
derives its own blocking connection from the asynchronous one. The rewrite works on tokens,
so comments and layout survive: ``async`` before ``def``/``with``/``for`` and every ``await``
are dropped, and names are renamed through ``NAMES`` (``AsyncConnection`` to
``Connection``, ``aspawn`` to ``spawn``, ...). Where the two faces must differ, the source
calls a pair from ``logicblocks.event.storage.primitives`` instead.

    python scripts/async_to_sync.py            # rewrite the generated modules
    python scripts/async_to_sync.py --check    # fail if any is stale (CI, `make lint`)
"""

import argparse
import io
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "client" / "logicblocks" / "event" / "storage"

# Asynchronous source -> generated blocking module.
MODULES = {
    STORAGE / "head_signal_async.py": STORAGE / "head_signal.py",
    STORAGE / "postgres" / "group_commit_async.py": STORAGE / "postgres" / "group_commit.py",
    STORAGE / "postgres" / "listener_async.py": STORAGE / "postgres" / "listener.py",
    STORAGE / "postgres" / "records_async.py": STORAGE / "postgres" / "records.py",
    STORAGE / "postgres" / "groups_async.py": STORAGE / "postgres" / "groups.py",
}

NAMES = {
    # Our own modules and classes.
    "head_signal_async": "head_signal",
    "group_commit_async": "group_commit",
    "listener_async": "listener",
    "records_async": "records",
    "AsyncHeadSignal": "HeadSignal",
    "AsyncGroupCommit": "GroupCommit",
    "AsyncHeadListener": "HeadListener",
    "AsyncPostgresRecords": "PostgresRecords",
    "groups_async": "groups",
    "AsyncPostgresGroupRecords": "PostgresGroupRecords",
    "AGroupRecords": "GroupRecords",
    # The primitives whose two faces differ.
    "ACondition": "Condition",
    "AEvent": "Event",
    "aspawn": "spawn",
    "ashield": "shield",
    "ajoin": "join",
    "ACancelled": "Cancelled",
    "AIntSource": "IntSource",
    "AWorker": "Worker",
    # Standard library and psycopg.
    "AsyncIterator": "Iterator",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "asynccontextmanager": "contextmanager",
    "AsyncConnection": "Connection",
    "AsyncConnectionPool": "ConnectionPool",
}

_DROPPED_BEFORE = {"def", "with", "for"}


def to_sync(source: str, *, origin: str) -> str:
    """The blocking module for the asynchronous ``source`` (read from ``origin``)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(position: tuple[int, int]) -> int:
        return offsets[position[0] - 1] + position[1]

    edits: list[tuple[int, int, str]] = []
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.type != tokenize.NAME and token.type != tokenize.STRING:
            continue
        dropped = token.string == "await" or (
            token.string == "async"
            and following is not None
            and following.string in _DROPPED_BEFORE
        )
        if token.type == tokenize.NAME and dropped:
            # Drop the keyword and the space after it.
            end = at(following.start) if following is not None else at(token.end)
            edits.append((at(token.start), end, ""))
        elif token.type == tokenize.NAME and token.string in NAMES:
            edits.append((at(token.start), at(token.end), NAMES[token.string]))
        elif token.type == tokenize.STRING and token.string[1:-1] in NAMES:
            # A name in quotes (``__all__``, a forward reference); prose is left as written.
            quote = token.string[0]
            edits.append(
                (at(token.start), at(token.end), quote + NAMES[token.string[1:-1]] + quote)
            )
    text = source
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    header = (
        f"# Generated from {origin} by scripts/async_to_sync.py: edit that file and run\n"
        "# `make generate`, never this one.\n"
    )
    return _formatted(header + text)


def _formatted(text: str) -> str:
    """``text`` as ruff's fixes and formatter leave it: renamed imports are sorted again,
    and dropped keywords leave lines to join."""
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in (["check", "--fix", "--exit-zero", "--quiet"], ["format"]):
        text = subprocess.run(
            [ruff, *command, "--stdin-filename", "generated.py", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return text


def main() -> int:
    """Rewrite the generated modules, or with ``--check`` report the stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a module is stale")
    arguments = parser.parse_args()
    stale = []
    for source_path, target_path in MODULES.items():
        generated = to_sync(source_path.read_text(encoding="utf-8"), origin=source_path.name)
        current = target_path.read_text(encoding="utf-8") if target_path.exists() else None
        if generated == current:
            continue
        if arguments.check:
            stale.append(target_path.relative_to(ROOT))
        else:
            target_path.write_text(generated, encoding="utf-8")
    if stale:
        names = ", ".join(str(path) for path in stale)
        print(f"generated code is stale ({names}): run 'make generate' and commit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
