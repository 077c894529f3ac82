"""Projections: building state from events."""

from .projector import Handler, MissingHandlerError, Projector
from .state import ProjectionState

__all__ = ["Handler", "MissingHandlerError", "ProjectionState", "Projector"]
