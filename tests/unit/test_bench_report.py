"""The benchmark's table (bench/report.py): CPU per operation beside each throughput, and
targets on a side's CPU, on a ratio, and on a limit in either direction."""

import pytest

from bench.cpu import Usage
from bench.report import Figure, Report, Target

OURS = "ours"
ECHO = "echo"
RATE = "rate reached"


def _report(targets: list[Target]) -> Report:
    return Report({"W2": "publishes"}, targets)


def _row(table: str, subject: str) -> list[str]:
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[1] == subject:
            return cells
    raise AssertionError(f"no row for {subject!r} in\n{table}")


def test_cpu_columns_show_each_sides_median_and_a_dash_where_not_measured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _report([])
    report.add(
        Figure(
            "W2",
            OURS,
            "events/s",
            [900.0, 1000.0, 1100.0],
            cpu=[
                Usage(server=300.0, client=150.0, postgres=None),
                Usage(server=200.0, client=170.0, postgres=None),
                Usage(server=260.0, client=None, postgres=None),
            ],
        )
    )
    assert "CPU µs/op server 260.0, client 160.0, postgres -" in capsys.readouterr().out
    table = report.table()
    assert table.splitlines()[0] == (
        "| workload | subject | median | server µs/op | client µs/op | PostgreSQL µs/op"
        " | ratio / target |"
    )
    assert _row(table, OURS)[2:6] == ["1,000 events/s", "260.0", "160.0", "-"]


def test_side_targets_judge_the_cpu_of_that_side() -> None:
    report = _report(
        [
            Target("W2", OURS, side="server", limit=250.0),
            Target("W2", OURS, side="client", limit=180.0),
            Target("W2", OURS, side="postgres", limit=100.0),
        ]
    )
    report.add(Figure("W2", OURS, "events/s", [1000.0], cpu=[Usage(server=260.0, client=170.0)]))
    verdicts = _row(report.table(), OURS)[6]
    assert verdicts == (
        "server <= 250 µs/op: NOT MET; client <= 180 µs/op: met; target postgres CPU: n/a"
    )


def test_ratio_and_limit_targets_follow_the_direction_of_the_figure() -> None:
    report = _report(
        [
            Target("W2", OURS, ECHO, ratio=0.6),
            Target("W2", RATE, limit=475.0),
            Target("W2", "p99", limit=10.0),
        ]
    )
    report.add(Figure("W2", OURS, "events/s", [700.0]))
    report.add(Figure("W2", ECHO, "events/s", [1000.0]))
    report.add(Figure("W2", RATE, "events/s", [480.0]))
    report.add(Figure("W2", "p99", "ms", [12.0], higher_is_better=False))
    table = report.table()
    assert _row(table, ECHO)[6] == "ours = 0.70x (target >= 0.6x: met)"
    assert _row(table, RATE)[6] == "target >= 475 events/s: met"
    assert _row(table, "p99")[6] == "target <= 10 ms: NOT MET"
