"""The clients' one backoff policy: its schedule, cap, jitter, attempt limit and reset."""

from collections.abc import Callable, Iterator

import pytest

from logicblocks.event.store.exceptions import ConfigurationError
from logicblocks.event.transport.retry import Backoff


def draws(*values: float) -> Callable[[], float]:
    """A ``uniform`` that returns ``values`` in turn, then their last for ever."""
    sequence: Iterator[float] = iter(values)
    last = values[-1]

    def uniform() -> float:
        nonlocal last
        last = next(sequence, last)
        return last

    return uniform


def delays(backoff: Backoff, count: int) -> list[float]:
    return [backoff.next_delay() for _ in range(count)]


def test_without_jitter_the_delays_grow_by_the_multiplier_up_to_the_cap() -> None:
    backoff = Backoff(initial=0.1, multiplier=3, cap=2.0, jitter=0)
    assert delays(backoff, 5) == pytest.approx([0.1, 0.3, 0.9, 2.0, 2.0])


def test_jitter_scales_each_delay_within_its_bounds() -> None:
    # uniform 0 is the low end of the jitter, 0.5 the middle, just under 1 the high end.
    backoff = Backoff(initial=1.0, multiplier=2, cap=100.0, jitter=0.5, uniform=draws(0, 0.5, 0.99))
    assert delays(backoff, 3) == pytest.approx([0.5, 2.0, 4 * 1.49])


def test_the_attempt_limit_counts_the_first_attempt() -> None:
    backoff = Backoff(initial=0.1, multiplier=2, cap=1.0, jitter=0, attempts=3)
    assert not backoff.exhausted and backoff.attempt == 1
    delays(backoff, 2)
    assert backoff.attempt == 3 and backoff.exhausted
    with pytest.raises(RuntimeError, match="no attempt is left of 3"):
        backoff.next_delay()


def test_a_single_attempt_is_never_retried() -> None:
    assert Backoff.for_calls(1).exhausted


def test_reset_restarts_the_schedule_and_the_count() -> None:
    backoff = Backoff(initial=0.1, multiplier=2, cap=1.0, jitter=0, attempts=3)
    delays(backoff, 2)
    backoff.reset()
    assert backoff.attempt == 1 and not backoff.exhausted
    assert delays(backoff, 2) == pytest.approx([0.1, 0.2])


def test_without_a_limit_it_retries_for_ever_at_the_cap() -> None:
    backoff = Backoff.for_reconnects(uniform=draws(0.5))
    assert delays(backoff, 3) == pytest.approx([0.05, 0.1, 0.2])
    assert delays(backoff, 100)[-1] == pytest.approx(5.0)
    assert not backoff.exhausted


def test_the_call_schedule_keeps_the_clients_former_ranges() -> None:
    # 50-100 ms, 0.2-0.4 s, 0.8-1.6 s: what the publish and scan retries always waited.
    low = Backoff.for_calls(4, uniform=draws(0))
    high = Backoff.for_calls(4, uniform=draws(1))
    assert delays(low, 3) == pytest.approx([0.05, 0.2, 0.8])
    assert delays(high, 3) == pytest.approx([0.1, 0.4, 1.6])
    assert low.exhausted


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"initial": 0, "cap": 1.0}, "0 < initial <= cap"),
        ({"initial": 2.0, "cap": 1.0}, "0 < initial <= cap"),
        ({"multiplier": 0.5}, "multiplier must be at least 1"),
        ({"jitter": 1.0}, r"jitter must be in \[0, 1\)"),
        ({"attempts": 0}, "attempts must be at least 1"),
    ],
)
def test_a_schedule_that_cannot_work_is_refused(arguments: dict[str, float], message: str) -> None:
    settings: dict[str, float] = {"initial": 0.1, "multiplier": 2, "cap": 1.0, "jitter": 0}
    with pytest.raises(ConfigurationError, match=message):
        Backoff(**(settings | arguments))  # type: ignore[arg-type]
