"""Measuring a workload: wall-clock rates and threads started together."""

import threading
import time
from collections.abc import Callable

__all__ = ["rate", "run_threads"]


def rate(events: int, seconds: float) -> float:
    """Events per second."""
    return events / seconds if seconds > 0 else float("inf")


def run_threads(count: int, work: Callable[[int], None]) -> float:
    """Run ``work(index)`` in ``count`` threads released together; return the wall time.

    The clock starts when every thread is ready, so thread start-up is not measured. The
    first exception a thread raises is re-raised here.
    """
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
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed
