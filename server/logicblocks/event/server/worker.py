"""One worker of ``serve --workers N``: ``python -m logicblocks.event.server.worker``.

Started by the supervisor (``workers``), never by hand: it reads the command's arguments
and its ``WorkerSeat`` from standard input, then serves as ``serve`` does, on the port it
shares with the other workers.
"""

import os
import pickle
import signal
import sys

from .command import quiet_grpc_core

__all__ = ["main"]


def main() -> int:
    """Serve as the worker the supervisor describes on standard input; the exit status."""
    # Ctrl-C in a terminal reaches every process of the group; the supervisor answers it
    # by sending SIGTERM, so a worker still starting must not die of it with a traceback.
    # The server handles SIGINT again once it serves.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet_grpc_core(os.environ)
    try:
        arguments, seat = pickle.load(sys.stdin.buffer)
    except EOFError:
        return 1  # the supervisor died before it said what to serve

    # Imported after the environment is set: cli imports grpc.
    from .cli import serve

    return serve(arguments, seat)


if __name__ == "__main__":
    sys.exit(main())
