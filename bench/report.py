"""Figures, targets and the printed table."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .cpu import Usage

__all__ = ["SIDES", "Figure", "Report", "Side", "Target"]

Side = Literal["server", "client", "postgres"]
# The CPU columns, in the table's order, with their headings.
SIDES: dict[Side, str] = {
    "server": "server µs/op",
    "client": "client µs/op",
    "postgres": "PostgreSQL µs/op",
}


@dataclass
class Figure:
    """One subject's result in one workload: the median of its repetitions.

    ``higher_is_better`` is true for throughputs (events/s) and false for latencies and
    memory. ``note`` replaces the value when the subject could not run. ``cpu`` holds the
    CPU microseconds per operation of each repetition (``bench.cpu``), where measured.
    """

    workload: str
    subject: str
    unit: str
    samples: list[float] = field(default_factory=list)
    higher_is_better: bool = True
    note: str = ""
    cpu: list[Usage] = field(default_factory=list)

    @property
    def value(self) -> float | None:
        """The median of the samples, or None when there are none."""
        return statistics.median(self.samples) if self.samples else None

    def cpu_us(self, side: Side) -> float | None:
        """The median CPU microseconds per operation on ``side``, or None if not measured."""
        values = [v for v in (getattr(u, side) for u in self.cpu) if v is not None]
        return statistics.median(values) if values else None


@dataclass(frozen=True)
class Target:
    """``ours`` must reach ``ratio`` times ``baseline`` (both subjects of ``workload``), or,
    without a baseline, stay within ``limit``: in the figure's unit (at most, or at least
    for a figure where higher is better), or, with ``side``, at most ``limit`` CPU
    microseconds per operation on that side.

    With ``at_most``, ``ratio`` is a ceiling on what ours costs against the baseline: its
    value (a latency or a time, where lower is better), or with ``side`` its CPU per
    operation on that side, at most ``ratio`` times the baseline's. The verdict stands on
    ours' row and names the baseline as ``versus``."""

    workload: str
    ours: str
    baseline: str | None = None
    ratio: float | None = None
    limit: float | None = None
    side: Side | None = None
    at_most: bool = False
    versus: str = "the baseline's"


def _format_value(value: float, unit: str) -> str:
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}"


def _format_cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _cost_cell(target: Target, ours: Figure, baseline: Figure) -> str:
    """The verdict of an ``at_most`` target: ours' value (or CPU on ``side``) against the
    baseline's, which it may reach at most ``ratio`` times."""
    what = "" if target.side is None else f"{target.side} CPU "
    if target.ratio is None:
        return f"target {what}: n/a"
    if target.side is None:
        mine, theirs = ours.value, baseline.value
    else:
        mine, theirs = ours.cpu_us(target.side), baseline.cpu_us(target.side)
    if mine is None or not theirs:
        return f"target {what}<= {target.ratio:g}x: n/a"
    ratio = mine / theirs
    verdict = "met" if ratio <= target.ratio else "NOT MET"
    return f"{what}{ratio:.2f}x {target.versus} (target <= {target.ratio:g}x: {verdict})"


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
        if figure.cpu:
            shown += "; CPU µs/op " + ", ".join(
                f"{side} {_format_cpu(figure.cpu_us(side))}" for side in SIDES
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
            if target.at_most:
                baseline = self.find(target.workload, target.baseline or "")
                if target.ours == figure.subject and baseline is not None:
                    cells.append(_cost_cell(target, figure, baseline))
                continue
            if target.baseline == figure.subject and target.ratio is not None:
                if ours is None or ours.value is None or figure.value is None:
                    cells.append(f"target ours >= {target.ratio:g}x: n/a")
                    continue
                ratio = ours.value / figure.value
                verdict = "met" if ratio >= target.ratio else "NOT MET"
                cells.append(f"ours = {ratio:.2f}x (target >= {target.ratio:g}x: {verdict})")
            elif target.side is not None and target.ours == figure.subject:
                used = figure.cpu_us(target.side)
                if used is None or target.limit is None:
                    cells.append(f"target {target.side} CPU: n/a")
                    continue
                verdict = "met" if used <= target.limit else "NOT MET"
                cells.append(f"{target.side} <= {target.limit:g} µs/op: {verdict}")
            elif target.baseline is None and target.ours == figure.subject:
                if figure.value is None or target.limit is None:
                    cells.append("target: n/a")
                    continue
                if figure.higher_is_better:
                    verdict = "met" if figure.value >= target.limit else "NOT MET"
                    cells.append(f"target >= {target.limit:g} {figure.unit}: {verdict}")
                else:
                    verdict = "met" if figure.value <= target.limit else "NOT MET"
                    cells.append(f"target <= {target.limit:g} {figure.unit}: {verdict}")
        return cells

    def table(self) -> str:
        """The whole run as a Markdown table: workload, subject, median, CPU per operation on
        each side, ratios and targets."""
        lines = [
            f"| workload | subject | median | {' | '.join(SIDES.values())} | ratio / target |",
            f"| --- | --- | ---: | {' | '.join('---:' for _ in SIDES)} | --- |",
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
                cpu = " | ".join(_format_cpu(figure.cpu_us(side)) for side in SIDES)
                cells = "; ".join(self._target_cells(figure))
                lines.append(f"| {label} | {figure.subject} | {value} | {cpu} | {cells} |")
        return "\n".join(lines)
