"""The operator's client subcommands of ``logicblocks-event-store``: ``categories``,
``streams``, ``info``, ``read``, ``tail``, ``publish``, ``export`` and ``import``, talking
to a server over gRPC."""

from .commands import add_operator_commands, run_operator_command

__all__ = ["add_operator_commands", "run_operator_command"]
