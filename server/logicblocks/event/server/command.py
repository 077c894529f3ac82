"""The ``logicblocks-event-store`` command's entry point: quiets gRPC's C core, then runs ``cli``.

gRPC's C core writes its own lines to standard error (``E0000 00:00:... file.cc:123]
...``), outside Python's logging and so outside the server's structured log. It reads
``GRPC_VERBOSITY`` and ``GRPC_TRACE`` once, when ``grpc`` is first imported (setting them
later has no effect), and ``cli`` imports grpc. So this module, which imports nothing of
gRPC, sets them first and only then imports ``cli``.
"""

import os
import sys
from collections.abc import MutableMapping, Sequence

__all__ = ["main", "quiet_grpc_core"]


def quiet_grpc_core(environment: MutableMapping[str, str]) -> None:
    """Turn gRPC's C-core logging off, unless the user asked for some.

    Either variable set, even empty, is the user's choice and is left alone: setting
    ``GRPC_TRACE`` without ``GRPC_VERBOSITY`` is how one asks gRPC for traces.
    """
    if "GRPC_VERBOSITY" in environment or "GRPC_TRACE" in environment:
        return
    environment["GRPC_VERBOSITY"] = "NONE"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process's exit status."""
    quiet_grpc_core(os.environ)
    # Imported here, after the environment is set: cli imports grpc.
    from .cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
