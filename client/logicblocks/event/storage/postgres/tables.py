"""Table naming: the events table's name, and the names and lock key derived from it."""

import hashlib
import re
from dataclasses import dataclass

from logicblocks.event.store.exceptions import ConfigurationError

__all__ = ["TableParameters"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


@dataclass(frozen=True)
class TableParameters:
    """Names the events table; the schema-version table and notify channel derive from it.

    The name must be a plain SQL identifier (letters, digits, underscores, at most 40).
    """

    events_table_name: str = "events"

    def __post_init__(self) -> None:
        if not isinstance(self.events_table_name, str) or not _IDENTIFIER.fullmatch(
            self.events_table_name
        ):
            raise ConfigurationError(
                field="events_table_name",
                message="must be an identifier: a letter or underscore, then letters, digits or "
                "underscores, at most 40 characters",
            )

    @property
    def schema_version_table_name(self) -> str:
        """The table recording which schema migrations have been applied."""
        return f"{self.events_table_name}_schema_version"

    @property
    def streams_table_name(self) -> str:
        """The table holding each stream's last event (the listings' index)."""
        return f"{self.events_table_name}_streams"

    @property
    def tags_table_name(self) -> str:
        """The table indexing events by tag: one ``(tag, sequence_number)`` row per tag."""
        return f"{self.events_table_name}_tags"

    @property
    def groups_table_name(self) -> str:
        """The consumer groups: each group's definition and generation."""
        return f"{self.events_table_name}_groups"

    @property
    def group_members_table_name(self) -> str:
        """Each group's members and when each is counted gone."""
        return f"{self.events_table_name}_group_members"

    @property
    def group_partitions_table_name(self) -> str:
        """Each group partition's lease and saved progress."""
        return f"{self.events_table_name}_group_partitions"

    @property
    def group_parked_table_name(self) -> str:
        """Each group's parked events."""
        return f"{self.events_table_name}_group_parked"

    @property
    def channel(self) -> str:
        """The ``LISTEN``/``NOTIFY`` channel carrying the head after each commit."""
        return f"{self.events_table_name}_head"

    @property
    def lock_key(self) -> int:
        """The advisory lock key serialising writers of this table (a signed 64-bit int)."""
        digest = hashlib.sha256(f"logicblocks.event.store:{self.events_table_name}".encode())
        return int.from_bytes(digest.digest()[:8], "big", signed=True)
