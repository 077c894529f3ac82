"""W5-W7 of ``python -m bench``: what the server holds in memory, and what listings cost.

Each starts servers or opens engines of its own, on databases of its own, so they run
after the throughput workloads and beside none of them.
"""

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from logicblocks.event.storage.engine import RecordStorageAdapter
from logicblocks.event.store.adapters import (
    ConnectionParameters,
    PostgresStorageAdapter,
    SqliteStorageAdapter,
)

from . import listing, memory
from .environment import PostgresCluster, ServerProcess
from .report import Figure, Report
from .subjects import IDLE_SUBS, LARGE_SCAN, LARGE_STALLED_SCANS, LARGE_STALLED_SUBS, SLOW_SCAN

if TYPE_CHECKING:
    from .__main__ import Sizes

__all__ = ["ResourceWorkloads"]


class ResourceWorkloads:
    """The memory (W5, W6) and listing (W7) workloads of a ``Run``, which provides the
    attributes below."""

    sizes: "Sizes"
    url: str
    logs: Path
    cluster: PostgresCluster
    report: Report

    def skipped(self, workload: str, subject: str, note: str, unit: str = "events/s") -> None:
        raise NotImplementedError

    def w5(self) -> None:
        s = self.sizes
        total = memory.fill_log(self.url, s.w5_events)
        print(f"W5: server memory, slow scan of {total:,} events", flush=True)
        log = self.logs / "server-w5.log"
        with ServerProcess.running(self.url, log) as server:
            result = memory.slow_scan(
                server.pid, server.target, pause_every=500, pause_seconds=0.01
            )
        print(f"    {result.detail}; baseline {result.baseline_mb:.0f} MB", flush=True)
        self.report.add(Figure("W5", SLOW_SCAN, "MB", [result.growth_mb], higher_is_better=False))
        print(f"W5: server memory, {s.idle_subscriptions:,} idle subscriptions", flush=True)
        with ServerProcess.running(self.url, log) as server:
            result = memory.idle_subscriptions(
                server.pid, server.target, s.idle_subscriptions, hold_seconds=5.0
            )
        if result.unavailable is not None:
            self.skipped("W5", IDLE_SUBS, f"not available yet ({result.unavailable})", unit="MB")
        else:
            print(f"    {result.detail}; baseline {result.baseline_mb:.0f} MB", flush=True)
            self.report.add(
                Figure("W5", IDLE_SUBS, "MB", [result.growth_mb], higher_is_better=False)
            )

    def w6(self) -> None:
        s = self.sizes
        # A database of its own: the log holds only the large events.
        url = self.cluster.create_database("bench_large")
        log = self.logs / "server-w6.log"
        with ServerProcess.running(url, log):  # makes the events table
            pass
        size = memory.fill_large(url, s.w6_events)
        print(f"W6: server memory, {s.w6_events} events of {size:,} bytes", flush=True)
        cases: list[tuple[str, Callable[[int, str], memory.MemoryResult]]] = [
            (LARGE_SCAN, memory.one_scan),
            (
                LARGE_STALLED_SCANS,
                lambda pid, target: memory.stalled_readers(
                    pid, target, "scans", s.w6_readers, s.w6_hold_seconds
                ),
            ),
            (
                LARGE_STALLED_SUBS,
                lambda pid, target: memory.stalled_readers(
                    pid, target, "subscriptions", s.w6_readers, s.w6_hold_seconds
                ),
            ),
        ]
        for name, case in cases:
            # A fresh server each: its peak (VmHWM) then belongs to this case alone.
            with ServerProcess.running(url, log) as server:
                result = case(server.pid, server.target)
            print(
                f"    {name}: +{result.growth_mb:.0f} MB (baseline {result.baseline_mb:.0f} MB, "
                f"peak {result.peak_mb:.0f} MB); {result.detail}",
                flush=True,
            )
            self.report.add(Figure("W6", name, "MB", [result.growth_mb], higher_is_better=False))

    def w7(self) -> None:
        s = self.sizes
        print(
            f"W7: listings and summary, {s.w7_events:,} events in {s.w7_streams:,} streams",
            flush=True,
        )
        url = self.cluster.create_database("bench_listing")
        table, migrated = listing.fill_postgres(url, s.w7_events, s.w7_streams)
        with PostgresStorageAdapter(
            connection_source=ConnectionParameters.from_url(url), table_parameters=table
        ) as adapter:
            self._w7_figures("PostgreSQL", adapter, migrated)
        with tempfile.TemporaryDirectory(prefix="bench-listing-") as folder:
            path = Path(folder) / "events.db"
            migrated = listing.fill_sqlite(path, s.w7_events, s.w7_streams)
            sqlite = SqliteStorageAdapter(path=path)
            try:
                self._w7_figures("SQLite", sqlite, migrated)
            finally:
                sqlite.close()

    def _w7_figures(self, engine: str, adapter: RecordStorageAdapter, migrated: float) -> None:
        s = self.sizes
        for name, samples in listing.measure(adapter, s.w7_streams, s.repeats).items():
            figure = Figure("W7", f"{engine}: {name}", "ms", samples, higher_is_better=False)
            print(f"    {figure.subject}: {figure.value:.1f} ms", flush=True)
            self.report.add(figure)
        self.report.add(
            Figure(
                "W7",
                f"{engine}: migrating to the streams index (once per store)",
                "ms",
                [migrated * 1000],
                higher_is_better=False,
            )
        )
