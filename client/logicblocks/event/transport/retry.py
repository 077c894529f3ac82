"""The one backoff policy of the gRPC clients: how long to wait before trying again.

``Backoff`` does no I/O and never sleeps: it counts the failed attempts and says how long
to wait before the next one, or that the attempts are spent. Every retry loop of both
clients drives one: the publish retries, the scan resumptions and the subscription
reconnections; the blocking client waits with ``time.sleep`` (or an ``Event.wait`` that
``close()`` can cut short), the asyncio one with ``await asyncio.sleep`` (or its
equivalent), so the schedule is written once.
"""

import random
from collections.abc import Callable

from logicblocks.event.store.exceptions import ConfigurationError

__all__ = ["Backoff"]


class Backoff:
    """An exponential delay schedule with jitter, an attempt count and an optional limit.

    The n-th wait is ``initial * multiplier ** (n - 1)``, at most ``cap``, scaled by a
    random factor in ``[1 - jitter, 1 + jitter)`` so clients that failed together do not
    come back together. ``attempts`` bounds the attempts in all (the first included);
    ``None`` retries for ever. ``reset()`` after a success starts the schedule and the
    count afresh. ``uniform`` draws from ``[0, 1)``; pass a fixed one to make it
    deterministic.
    """

    def __init__(
        self,
        *,
        initial: float,
        multiplier: float,
        cap: float,
        jitter: float,
        attempts: int | None = None,
        uniform: Callable[[], float] = random.random,
    ):
        if not 0 < initial <= cap:
            raise ConfigurationError(f"backoff needs 0 < initial <= cap, not {initial}, {cap}")
        if multiplier < 1:
            raise ConfigurationError(f"backoff multiplier must be at least 1, not {multiplier}")
        if not 0 <= jitter < 1:
            raise ConfigurationError(f"backoff jitter must be in [0, 1), not {jitter}")
        if attempts is not None and attempts < 1:
            raise ConfigurationError(f"attempts must be at least 1, not {attempts}")
        self.initial = initial
        self.multiplier = multiplier
        self.cap = cap
        self.jitter = jitter
        self.attempts = attempts
        self._uniform = uniform
        self.attempt = 1
        self._delay = initial

    @classmethod
    def for_calls(cls, attempts: int, uniform: Callable[[], float] = random.random) -> "Backoff":
        """The schedule of a publish or scan retried after a failure: ``attempts`` in all.

        Waits of 50-100 ms, then 0.2-0.4 s, then 0.8-1.6 s: a server restarting or a
        connection re-established is ridden over within a few attempts.
        """
        return cls(
            initial=0.075, multiplier=4, cap=5.0, jitter=1 / 3, attempts=attempts, uniform=uniform
        )

    @classmethod
    def for_reconnects(cls, uniform: Callable[[], float] = random.random) -> "Backoff":
        """The schedule of a subscription reconnecting: for ever, doubling up to 5 s.

        A subscription outlives any outage; the cap bounds how late it notices the end.
        """
        return cls(initial=0.05, multiplier=2, cap=5.0, jitter=0.5, uniform=uniform)

    @property
    def exhausted(self) -> bool:
        """Whether the attempts are spent: the failure of this attempt is final."""
        return self.attempts is not None and self.attempt >= self.attempts

    def next_delay(self) -> float:
        """Count a failed attempt: the wait before the next (ask ``exhausted`` first)."""
        if self.exhausted:
            raise RuntimeError(f"no attempt is left of {self.attempts}")
        self.attempt += 1
        delay = self._delay * (1 + self.jitter * (2 * self._uniform() - 1))
        self._delay = min(self._delay * self.multiplier, self.cap)
        return delay

    def reset(self) -> None:
        """An attempt succeeded: the next failure waits the shortest again, and counts as
        the first of a fresh run of attempts."""
        self.attempt = 1
        self._delay = self.initial
