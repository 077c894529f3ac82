"""W1-W3 through our server: the documented API over ``GrpcStorageAdapter``."""

from logicblocks.event.store import EventStore
from logicblocks.event.store.adapters import GrpcStorageAdapter

from .events import CATEGORY, new_events
from .timing import Stopwatch, run_threads

__all__ = ["publish_batches", "publish_concurrently", "scan_log"]


def publish_batches(
    target: str, publishes: int, batch: int, run: str, watch: Stopwatch | None = None
) -> float:
    """W1: ``publishes`` publishes of ``batch`` events from one client; events/s."""
    watch = watch or Stopwatch()
    with GrpcStorageAdapter(target=target) as adapter:
        stream = EventStore(adapter).stream(category=CATEGORY, stream=f"w1-{run}")
        stream.publish(events=new_events(1))  # connect before the clock starts
        batches = [new_events(batch, start=i * batch) for i in range(publishes)]
        watch.start()
        for events in batches:
            stream.publish(events=events)
        watch.stop()
        return watch.rate(publishes * batch)


def publish_concurrently(
    target: str, clients: int, publishes: int, run: str, watch: Stopwatch | None = None
) -> float:
    """W2: ``clients`` threads, each ``publishes`` one-event publishes into its own stream.

    The threads share one adapter (one channel), as threads of one application would.
    """
    watch = watch or Stopwatch()
    with GrpcStorageAdapter(target=target) as adapter:
        store = EventStore(adapter)
        streams = [store.stream(category=CATEGORY, stream=f"w2-{run}-{i}") for i in range(clients)]
        streams[0].publish(events=new_events(1))
        events = new_events(publishes)

        def work(index: int) -> None:
            stream = streams[index]
            for event in events:
                stream.publish(events=[event])

        run_threads(clients, work, watch)
        return watch.rate(clients * publishes)


def scan_log(target: str, watch: Stopwatch | None = None) -> tuple[int, float]:
    """W3: iterate the whole log into ``StoredEvent``s with decoded payloads; (events, /s)."""
    watch = watch or Stopwatch()
    with GrpcStorageAdapter(target=target) as adapter:
        count = 0
        watch.start()
        for event in EventStore(adapter).log():
            # Touch the payload so a lazily decoding client would pay for it here too.
            if event.payload is None:
                raise AssertionError("an event without a payload")
            count += 1
        watch.stop()
        return count, watch.rate(count)
