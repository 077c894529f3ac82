"""Publishers for the fault tests: they retry through outages and record what was acknowledged.

``RetryingPublisher`` is a thread with its own ``GrpcStorageAdapter`` (its own channel). It
publishes batches of events whose ids it chooses itself into its own stream and into
streams shared with the other publishers. When a publish fails with
``StorageUnavailableError`` (the server is gone, or its database is), it publishes the
very same batch again, ids included, until the server acknowledges it: the outcome of the
failed attempt is unknown, and the ids make the retry safe. Every acknowledged publish is
recorded as a ``publish_load.Outcome``, so ``publish_load.check_log`` can check the final
log against them: everything acknowledged present once, batches whole, no holes.
"""

import random
import threading
import uuid
from collections.abc import Sequence

from logicblocks.event.store import EventStore, StorageUnavailableError
from logicblocks.event.store.adapters import GrpcStorageAdapter
from logicblocks.event.types import NewEvent, StoredEvent
from tests.support.publish_load import Outcome

__all__ = ["Batch", "RetryingPublisher", "stop_all"]

# The first wait after an UNAVAILABLE; it doubles up to the maximum. A retry backoff, so a
# publisher does not spin while the server is down.
_FIRST_RETRY_DELAY = 0.02
_MAX_RETRY_DELAY = 0.5


class Batch:
    """One publish: where it goes and its events, ids chosen by the client."""

    def __init__(self, writer: str, number: int, category: str, stream: str, size: int):
        self.writer = writer
        self.number = number
        self.category = category
        self.stream = stream
        self.events = [
            NewEvent(
                id=f"{writer}-{number}-{index}-{uuid.uuid4().hex[:8]}",
                name="faulted",
                payload={"writer": writer, "publish": number, "index": index},
            )
            for index in range(size)
        ]

    def outcome(self, stored: Sequence[StoredEvent]) -> Outcome:
        """The acknowledged publish, as ``check_log`` wants it."""
        return Outcome(
            writer=self.writer,
            publish=self.number,
            stream=self.stream,
            ids=[e.id for e in stored],
            positions=[e.position for e in stored],
            sequence_numbers=[e.sequence_number for e in stored],
        )


class RetryingPublisher:
    """Publishes batches through its own channel until stopped; retries UNAVAILABLE.

    ``categories`` are the categories it writes (streams ``<category>-own-<name>`` and
    ``<category>-<shared stream>`` in each). ``interval`` paces it (seconds between
    publishes; 0: flat out).
    ``acknowledged`` holds ``(batch, stored events)`` for every acknowledged publish, in
    order; ``unavailable`` counts the failed attempts, ``retried`` the batches acknowledged
    only after at least one of them; ``error`` keeps anything else.
    """

    def __init__(
        self,
        target: str,
        name: str,
        *,
        categories: Sequence[str] = ("faults",),
        shared_streams: Sequence[str] = ("shared-0", "shared-1"),
        interval: float = 0.0,
        seed: int = 0,
        timeout: float = 20.0,
    ):
        self.name = name
        self.acknowledged: list[tuple[Batch, list[StoredEvent]]] = []
        self.unavailable = 0
        self.retried = 0
        self.error: BaseException | None = None
        self._categories = list(categories)
        self._streams = [f"own-{name}", *shared_streams]
        self._interval = interval
        self._rng = random.Random(seed)
        # attempts=1: this class does the retrying, so the test sees every UNAVAILABLE.
        self._adapter = GrpcStorageAdapter(target=target, attempts=1, timeout=timeout)
        self._store = EventStore(self._adapter)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def outcomes(self) -> list[Outcome]:
        """The acknowledged publishes as ``check_log`` outcomes."""
        return [batch.outcome(stored) for batch, stored in self.acknowledged]

    def _run(self) -> None:
        try:
            number = 0
            while not self._stop.is_set():
                category = self._rng.choice(self._categories)
                # Stream names unique across categories: check_log groups by stream name.
                stream = f"{category}-{self._rng.choice(self._streams)}"
                batch = Batch(self.name, number, category, stream, self._rng.randint(1, 5))
                self.acknowledged.append((batch, self.publish_until_acknowledged(batch)))
                number += 1
                if self._interval:
                    self._stop.wait(self._interval)
        except BaseException as error:  # reported by the test through ``error``
            self.error = error

    def publish_until_acknowledged(self, batch: Batch) -> list[StoredEvent]:
        """Publish ``batch``, again and again with the same ids while UNAVAILABLE.

        Finishes the batch even when stopped: a publish whose outcome is unknown is settled
        before the publisher ends, so the final log holds exactly the acknowledged events.
        """
        delay = _FIRST_RETRY_DELAY
        stream = self._store.stream(category=batch.category, stream=batch.stream)
        failed = False
        while True:
            try:
                stored = list(stream.publish(events=batch.events))
            except StorageUnavailableError:
                failed = True
                self.unavailable += 1
                threading.Event().wait(delay * (0.5 + self._rng.random()))
                delay = min(delay * 2, _MAX_RETRY_DELAY)
                continue
            self.retried += failed
            return stored

    def request_stop(self) -> None:
        """Ask the publisher to stop after the publish in progress is acknowledged."""
        self._stop.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the publish in progress is acknowledged; fail on an unexpected error."""
        self._stop.set()
        self._thread.join(timeout=timeout)
        self._adapter.close()
        assert not self._thread.is_alive(), f"{self.name} did not stop within {timeout} s"
        assert self.error is None, f"{self.name} failed: {self.error!r}"


def stop_all(publishers: Sequence[RetryingPublisher], timeout: float = 60.0) -> None:
    """Stop every publisher (all asked first, so they finish their last publishes together)."""
    for publisher in publishers:
        publisher.request_stop()
    for publisher in publishers:
        publisher.stop(timeout)
