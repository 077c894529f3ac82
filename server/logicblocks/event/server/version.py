"""The installed distribution's name and version, for ``--version`` and the logs."""

from importlib import metadata

__all__ = ["DISTRIBUTION", "version"]

# The name on the package index. `logicblocks-event-store` belongs to another project there;
# the import names (`logicblocks.event.*`) stay the documented ones.
DISTRIBUTION = "logicblocks-event-store-server"


def version() -> str:
    """The installed version, or ``"unknown"`` when run from a source tree never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
