"""Measuring a workload: threads started together (``bench.cpu.Stopwatch`` times them)."""

import threading
from collections.abc import Callable

from .cpu import Stopwatch

__all__ = ["Stopwatch", "run_threads"]


def run_threads(count: int, work: Callable[[int], None], watch: Stopwatch | None = None) -> float:
    """Run ``work(index)`` in ``count`` threads released together; return the wall time.

    The clock (``watch``, if given) starts when every thread is ready, so thread start-up is
    not measured. The first exception a thread raises is re-raised here.
    """
    watch = watch or Stopwatch()
    barrier = threading.Barrier(count + 1)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    watch.start()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = watch.stop()
    if errors:
        raise errors[0]
    return elapsed
