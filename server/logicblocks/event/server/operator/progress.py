"""A progress bar for long commands (``export``, ``import``): on standard error, with the
rate and the time left, drawn by ``rich``, and only when standard error is a terminal, so
pipes and logs stay clean."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["Bar", "progress_bar"]


class _Rate(ProgressColumn):
    """Items per second; rich's own speed column counts bytes."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s")


class Bar:
    """One task of a progress display; ``advance`` it as the work is done."""

    def __init__(self, progress: Progress, task: TaskID):
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        """Count ``amount`` more units done."""
        self._progress.advance(self._task, amount)


@contextmanager
def progress_bar(description: str, total: float | None, unit: str) -> Iterator[Bar]:
    """A bar for ``total`` units of ``unit`` (``None``: unknown, then no time left shown)."""
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(unit),
        TimeRemainingColumn(),
        console=console,
        disable=not sys.stderr.isatty(),
        transient=False,
    )
    with progress:
        yield Bar(progress, progress.add_task(description, total=total))
