"""Figures, targets and the printed table."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Figure", "Report", "Target"]


@dataclass
class Figure:
    """One subject's result in one workload: the median of its repetitions.

    ``higher_is_better`` is true for throughputs (events/s) and false for latencies and
    memory. ``note`` replaces the value when the subject could not run.
    """

    workload: str
    subject: str
    unit: str
    samples: list[float] = field(default_factory=list)
    higher_is_better: bool = True
    note: str = ""

    @property
    def value(self) -> float | None:
        """The median of the samples, or None when there are none."""
        return statistics.median(self.samples) if self.samples else None


@dataclass(frozen=True)
class Target:
    """``ours`` must reach ``ratio`` times ``baseline`` (both subjects of ``workload``), or,
    without a baseline, stay within ``limit`` (in the figure's unit)."""

    workload: str
    ours: str
    baseline: str | None = None
    ratio: float | None = None
    limit: float | None = None


def _format_value(value: float, unit: str) -> str:
    if unit == "events/s":
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}"


class Report:
    """Collects figures as workloads finish and prints them as a table with the targets."""

    def __init__(self, titles: dict[str, str], targets: Sequence[Target]) -> None:
        self.titles = titles
        self.targets = list(targets)
        self.figures: list[Figure] = []

    def add(self, figure: Figure) -> Figure:
        """Record a figure and print it at once, so a long run shows progress."""
        self.figures.append(figure)
        shown = (
            figure.note
            if figure.value is None
            else _format_value(figure.value, figure.unit)
            + f"  (samples: {', '.join(f'{s:,.1f}' for s in figure.samples)})"
        )
        print(f"  [{figure.workload}] {figure.subject}: {shown}", flush=True)
        return figure

    def find(self, workload: str, subject: str) -> Figure | None:
        """The figure of ``subject`` in ``workload``, if one was recorded."""
        for figure in self.figures:
            if figure.workload == workload and figure.subject == subject:
                return figure
        return None

    def _target_cells(self, figure: Figure) -> list[str]:
        cells: list[str] = []
        for target in self.targets:
            if target.workload != figure.workload:
                continue
            ours = self.find(target.workload, target.ours)
            if target.baseline == figure.subject and target.ratio is not None:
                if ours is None or ours.value is None or figure.value is None:
                    cells.append(f"target ours >= {target.ratio:g}x: n/a")
                    continue
                ratio = ours.value / figure.value
                verdict = "met" if ratio >= target.ratio else "NOT MET"
                cells.append(f"ours = {ratio:.2f}x (target >= {target.ratio:g}x: {verdict})")
            elif target.baseline is None and target.ours == figure.subject:
                if figure.value is None or target.limit is None:
                    cells.append("target: n/a")
                    continue
                verdict = "met" if figure.value <= target.limit else "NOT MET"
                cells.append(f"target <= {target.limit:g} {figure.unit}: {verdict}")
        return cells

    def table(self) -> str:
        """The whole run as a Markdown table: workload, subject, median, ratios and targets."""
        lines = [
            "| workload | subject | median | ratio / target |",
            "| --- | --- | ---: | --- |",
        ]
        for workload, title in self.titles.items():
            figures = [f for f in self.figures if f.workload == workload]
            for index, figure in enumerate(figures):
                label = f"{workload} {title}" if index == 0 else ""
                value = (
                    figure.note
                    if figure.value is None
                    else _format_value(figure.value, figure.unit)
                )
                cells = "; ".join(self._target_cells(figure))
                lines.append(f"| {label} | {figure.subject} | {value} | {cells} |")
        return "\n".join(lines)
