"""The result of projecting events onto a state."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Projection"]


@dataclass(frozen=True)
class Projection:
    """A state and the position of the last event that went into it.

    ``position`` is ``None`` when no event was projected.
    """

    state: Mapping[str, Any]
    position: int | None

    def __init__(self, *, state: Mapping[str, Any], position: int | None):
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "position", position)

    def json(self) -> str:
        return json.dumps({"state": dict(self.state), "position": self.position}, sort_keys=True)

    def __repr__(self) -> str:
        return f"Projection(state={dict(self.state)}, position={self.position})"

    def __hash__(self) -> int:
        return hash(self.json())
