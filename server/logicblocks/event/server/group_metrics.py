"""Consumer group metrics: what flows through this server, and each group's state.

Two kinds, from where each fact is known:

- counters of this server's traffic, by group: deliveries sent (and of those, the ones
  that were not an event's first), acknowledgements and rejections taken. A ``Consume``
  stream reports them a batch at a time (``GroupTraffic``), so the per-event path pays one
  comparison. Servers on one database each count their own: add them up across servers.
- gauges of each group's stored state, read from storage at each scrape (``watch``): lag
  (events of its target not yet done), parked events and live members. They are the
  group's, not this server's: every server on one database reports the same values. A
  scrape costs what listing the groups costs (``list_groups``). It waits for that read
  at most ``READ_SECONDS``, and leaves these gauges out when the read fails or takes
  longer, rather than failing or stalling the whole scrape (storage that cannot be
  reached makes a PostgreSQL read wait for the pool's 10 s, Prometheus's own scrape
  timeout). One read at a time, in a thread of its own: scrapes that come while one runs
wait for that one, and a read that hangs never holds up the process's exit.
"""

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from logicblocks.event.store.groups import GroupInfo

__all__ = ["READ_SECONDS", "GroupMetrics", "GroupStates", "GroupTraffic"]

_log = logging.getLogger("logicblocks.event.server")

# The longest a scrape waits for the groups' state: half of Prometheus's default scrape
# timeout, so the rest of the page still arrives in time.
READ_SECONDS = 5.0


class GroupTraffic:
    """One group's counters on this server, the group's label bound once per stream."""

    def __init__(self, metrics: "GroupMetrics", group: str):
        self._deliveries = metrics.deliveries.labels(group=group)
        self._redeliveries = metrics.redeliveries.labels(group=group)
        self._acks = metrics.acks.labels(group=group)
        self._nacks = metrics.nacks.labels(group=group)

    def sent(self, deliveries: int, redeliveries: int) -> None:
        """A message carried ``deliveries``, ``redeliveries`` of them not a first attempt."""
        self._deliveries.inc(deliveries)
        if redeliveries:
            self._redeliveries.inc(redeliveries)

    def acknowledged(self, count: int) -> None:
        """``count`` acknowledgements of outstanding deliveries were taken."""
        self._acks.inc(count)

    def rejected(self) -> None:
        """A rejection (nack) of an outstanding delivery was taken."""
        self._nacks.inc()


class GroupStates(Collector):
    """The gauges of every group's stored state, read when scraped (see the module's
    notes): from ``read`` once ``watch`` set it, waiting at most ``wait`` seconds."""

    def __init__(self, wait: float = READ_SECONDS) -> None:
        self.read: Callable[[], Sequence[GroupInfo]] | None = None
        self._wait = wait
        self._lock = threading.Lock()
        self._reading: Future[Sequence[GroupInfo]] | None = None
        self._closed = False

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Names only: registering the collector must not read storage.
        yield from self._families(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families(self._infos())

    def close(self) -> None:
        """Read no more; a read under way is left to finish on its own."""
        self._closed = True

    def _infos(self) -> Sequence[GroupInfo]:
        read = self.read
        if read is None or self._closed:
            return ()
        with self._lock:
            if self._reading is None or self._reading.done():
                self._reading = _started(read)
            reading = self._reading
        try:
            return reading.result(timeout=self._wait)
        except NotImplementedError:
            return ()  # this storage keeps no groups
        except FutureTimeout:
            problem = f"the read took longer than {self._wait}s"
        except Exception as error:
            # Raised here it would fail the whole scrape, every other metric with it, just
            # when storage trouble makes them most wanted.
            problem = f"{type(error).__name__}: {error}"
        _log.warning("event=metrics_groups_unread error=%s", problem)
        return ()

    @staticmethod
    def _families(infos: Sequence[GroupInfo]) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "eventstore_group_lag",
            "Events of the group's target not yet done (acknowledged or parked).",
            labels=["group"],
        )
        parked = GaugeMetricFamily(
            "eventstore_group_parked_events",
            "Events the group parked after their retries, waiting for an operator.",
            labels=["group"],
        )
        members = GaugeMetricFamily(
            "eventstore_group_members",
            "Consumers of the group counted live, on every server of its database.",
            labels=["group"],
        )
        for info in infos:
            lag.add_metric([info.name], info.lag)
            parked.add_metric([info.name], info.parked)
            members.add_metric([info.name], len(info.members))
        yield lag
        yield parked
        yield members


def _started(read: Callable[[], Sequence[GroupInfo]]) -> Future[Sequence[GroupInfo]]:
    # A daemon thread per read (one read runs at a time): an executor's worker would be
    # joined at exit, and would keep a hung read's server process from ending.
    future: Future[Sequence[GroupInfo]] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(read())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, name="metrics-groups", daemon=True).start()
    return future


class GroupMetrics:
    """The consumer group metrics of one server, in its registry."""

    def __init__(self, registry: CollectorRegistry):
        self.deliveries = Counter(
            "eventstore_group_deliveries",
            "Deliveries sent to the group's consumers through this server.",
            ["group"],
            registry=registry,
        )
        self.redeliveries = Counter(
            "eventstore_group_redeliveries",
            "Deliveries sent that were not the event's first attempt (after a nack or an"
            " ack timeout, or a replay of a parked event).",
            ["group"],
            registry=registry,
        )
        self.acks = Counter(
            "eventstore_group_acks",
            "Acknowledgements taken from the group's consumers through this server.",
            ["group"],
            registry=registry,
        )
        self.nacks = Counter(
            "eventstore_group_nacks",
            "Rejections (nacks) taken from the group's consumers through this server.",
            ["group"],
            registry=registry,
        )
        self._states = GroupStates()
        registry.register(self._states)

    def traffic(self, group: str) -> GroupTraffic:
        """The counters a ``Consume`` stream of ``group`` reports to."""
        return GroupTraffic(self, group)

    def watch(self, read: Callable[[], Sequence[GroupInfo]]) -> None:
        """Read every group's state from ``read`` (``list_groups``) at each scrape."""
        self._states.read = read

    def close(self) -> None:
        """The server stopped: read the groups' state no more."""
        self._states.close()
