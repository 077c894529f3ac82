"""Command-line options that have an environment-variable equivalent, made one way."""

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["add_path_options"]


def add_path_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    options: Mapping[str, str],
    *,
    env_prefix: str,
) -> None:
    """Add each ``--flag`` of ``options`` (flag to help text) as a file path, defaulting to
    the environment variable ``env_prefix`` + the flag in capitals (``--tls-ca`` with
    ``EVENT_STORE_CLIENT_``: ``EVENT_STORE_CLIENT_TLS_CA``)."""
    for flag, help_text in options.items():
        env = env_prefix + flag.removeprefix("--").replace("-", "_").upper()
        parser.add_argument(
            flag, type=Path, default=os.environ.get(env) or None, help=f"{help_text} (env {env})"
        )
