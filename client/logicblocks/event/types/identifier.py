"""Identifiers of the parts of the store: the whole log, a category, or one stream."""

import json
from dataclasses import dataclass

__all__ = ["Category", "Identifier", "Log", "Stream"]


class Identifier:
    """Base of every identifier; subclasses are frozen and hashable."""

    def json(self) -> str:
        """The identifier as a JSON object with a ``type`` member."""
        raise NotImplementedError()


@dataclass(frozen=True)
class Log(Identifier):
    """The whole log: every event in the store."""

    def json(self) -> str:
        return json.dumps({"type": "log"})

    def __repr__(self) -> str:
        return "identifier.Log()"

    def __hash__(self) -> int:
        return hash(self.json())


@dataclass(frozen=True)
class Category(Identifier):
    """All streams of one category."""

    category: str

    def __init__(self, *, category: str):
        object.__setattr__(self, "category", category)

    def json(self) -> str:
        return json.dumps({"type": "category", "category": self.category})

    def __repr__(self) -> str:
        return f"identifier.Category(category={self.category})"

    def __hash__(self) -> int:
        return hash(self.json())


@dataclass(frozen=True)
class Stream(Identifier):
    """One stream, named by its category and its stream name."""

    category: str
    stream: str

    def __init__(self, *, category: str, stream: str):
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "stream", stream)

    def json(self) -> str:
        return json.dumps({"type": "stream", "category": self.category, "stream": self.stream})

    def __repr__(self) -> str:
        return f"identifier.Stream(category={self.category},stream={self.stream})"

    def __hash__(self) -> int:
        return hash(self.json())
