"""Projecting events onto a state with one handler per event name."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from logicblocks.event.types import Projection, StoredEvent

from .state import ProjectionState

__all__ = ["Handler", "MissingHandlerError", "Projector"]

Handler: TypeAlias = Callable[[Any, StoredEvent], Mapping[str, Any]]


class MissingHandlerError(Exception):
    """No handler is registered for an event's name."""

    def __init__(self, event: StoredEvent):
        super().__init__(f"no handler for event {event.name!r} (id {event.id})")
        self.event = event


@dataclass(frozen=True)
class Projector:
    """Folds events onto a state, calling the handler registered for each event's name.

    Handlers receive a ``ProjectionState`` (a mapping with ``merge``) and return the new
    state as any mapping.
    """

    handlers: Mapping[str, Handler]

    def __init__(self, *, handlers: Mapping[str, Handler]):
        object.__setattr__(self, "handlers", handlers)

    def call_handler_func(self, state: Mapping[str, Any], event: StoredEvent) -> ProjectionState:
        """Apply the handler for ``event``; raises ``MissingHandlerError`` if there is none."""
        handler = self.handlers.get(event.name)
        if handler is None:
            raise MissingHandlerError(event)
        return _as_state(handler(_as_state(state), event))

    def project(self, state: Mapping[str, Any], events: Iterable[StoredEvent]) -> Projection:
        """Project ``events`` onto ``state``.

        ``events`` may be any iterable, an iterating stream included, so a long stream is
        projected without being loaded whole. With no events the state is returned as it
        was and the position is ``None``.
        """
        current = _as_state(state)
        position: int | None = None
        for event in events:
            current = self.call_handler_func(current, event)
            position = event.position
        return Projection(state=current, position=position)


def _as_state(state: Mapping[str, Any]) -> ProjectionState:
    return state if isinstance(state, ProjectionState) else ProjectionState(state)
