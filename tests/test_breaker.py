"""The circuit breaker state machine, stepped by hand against a fake clock."""

from __future__ import annotations

import random

import pytest

from battletui.gateway import CircuitBreaker
from battletui.protocol.events import BreakerState, BreakerTransition
from battletui.scenario import BreakerSpec

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make(
    clock: FakeClock,
    *,
    failures: int = 3,
    open_for: float = 5.0,
    half_open_probes: int = 1,
    successes: int = 2,
    window: int = 20,
    failure_rate: float = 0.5,
    min_calls: int = 10,
    max_open_for: float = 60.0,
    rng: random.Random | None = None,
) -> tuple[CircuitBreaker, list[BreakerTransition]]:
    seen: list[BreakerTransition] = []
    spec = BreakerSpec(
        failures=failures,
        open_for=open_for,
        half_open_probes=half_open_probes,
        successes=successes,
        window=window,
        failure_rate=failure_rate,
        min_calls=min_calls,
        max_open_for=max_open_for,
    )
    breaker = CircuitBreaker("alpha", spec, clock=clock, on_transition=seen.append, rng=rng)
    return breaker, seen


def trip(breaker: CircuitBreaker, n: int, reason: str = "connection refused") -> None:
    for _ in range(n):
        breaker.record_failure(reason)


def half_open(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """Step an OPEN breaker's clock to the end of its open time."""
    until = breaker.open_until
    assert until is not None
    clock.now = until
    assert breaker.state is HALF_OPEN


def test_starts_closed_and_lets_traffic_through() -> None:
    breaker, seen = make(FakeClock())
    assert breaker.state is CLOSED
    assert all(breaker.try_acquire() for _ in range(10))
    assert seen == []
    assert breaker.transitions == ()
    assert breaker.open_until is None and breaker.open_remaining == 0.0
    assert breaker.current_open_for == 5.0 and breaker.backoff == 1


# -- opening on consecutive failures -----------------------------------------------------------


def test_opens_after_n_consecutive_failures_with_reason_and_time() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=3)
    trip(breaker, 2)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 2
    clock.advance(1.5)
    breaker.record_failure("connection refused")
    assert breaker.state is OPEN
    assert not breaker.try_acquire()
    assert seen == [
        BreakerTransition(
            "alpha", CLOSED, OPEN, 101.5, "3 consecutive failures (connection refused); open 5.0s"
        )
    ]
    assert breaker.transitions == tuple(seen)
    assert breaker.open_until == 106.5
    clock.advance(2.2)
    assert breaker.open_remaining == pytest.approx(2.8)


def test_success_resets_the_failure_count() -> None:
    breaker, seen = make(FakeClock(), failures=3)
    trip(breaker, 2)
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    trip(breaker, 2)
    assert breaker.state is CLOSED
    breaker.record_failure("HTTP 500")
    assert breaker.state is OPEN
    assert seen[-1].reason == "3 consecutive failures (HTTP 500); open 5.0s"


@pytest.mark.parametrize("reason", ["connection refused", "HTTP 503", "JSON-RPC error -32603"])
def test_reason_is_carried_into_the_transition(reason: str) -> None:
    breaker, seen = make(FakeClock(), failures=1)
    breaker.record_failure(reason)
    assert seen[0].reason == f"1 consecutive failure ({reason}); open 5.0s"


# -- opening on the failure rate over the sliding window --------------------------------------


def test_failure_rate_is_not_judged_below_min_calls() -> None:
    breaker, seen = make(FakeClock(), failures=100, window=20, min_calls=10, failure_rate=0.5)
    for _ in range(4):
        breaker.record_failure("HTTP 500")
        breaker.record_success()
    breaker.record_failure("HTTP 500")  # 5 of 9: over the rate, but too few calls
    assert breaker.state is CLOSED
    assert (breaker.window_calls, breaker.window_failures) == (9, 5)
    assert seen == []


def test_failure_rate_opens_exactly_at_the_threshold() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=100, window=20, min_calls=10, failure_rate=0.5)
    for _ in range(4):
        breaker.record_success()
        breaker.record_failure("HTTP 500")
    breaker.record_success()
    assert breaker.state is CLOSED, "4 of 9"
    breaker.record_failure("HTTP 502")  # 5 of 10 = 50%
    assert breaker.state is OPEN
    assert seen == [
        BreakerTransition(
            "alpha", CLOSED, OPEN, 100.0, "failure rate 50% over 10 calls (HTTP 502); open 5.0s"
        )
    ]
    assert breaker.window_calls == 0, "the window starts afresh"


def test_failure_rate_just_below_the_threshold_stays_closed() -> None:
    breaker, _ = make(FakeClock(), failures=100, window=10, min_calls=10, failure_rate=0.5)
    for _ in range(6):
        breaker.record_success()
    for _ in range(4):
        breaker.record_failure("HTTP 500")  # 4 of 10 = 40%
    assert breaker.state is CLOSED


def test_the_window_slides_old_calls_out() -> None:
    breaker, seen = make(FakeClock(), failures=100, window=10, min_calls=10, failure_rate=0.6)
    trip(breaker, 5)
    for _ in range(10):
        breaker.record_success()
    assert (breaker.window_calls, breaker.window_failures) == (10, 0)
    for _ in range(5):
        breaker.record_failure("HTTP 500")
    assert breaker.state is CLOSED, "5 of the last 10: below 60%"
    breaker.record_failure("HTTP 500")
    assert breaker.state is OPEN
    assert seen[-1].reason == "failure rate 60% over 10 calls (HTTP 500); open 5.0s"


def test_min_calls_above_the_window_means_a_full_window() -> None:
    breaker, _ = make(FakeClock(), failures=100, window=4, min_calls=10, failure_rate=0.5)
    breaker.record_success()
    breaker.record_success()
    breaker.record_failure("x")
    assert breaker.state is CLOSED
    breaker.record_failure("x")
    assert breaker.state is OPEN, "2 of a full window of 4"


# -- open, half-open, probes -------------------------------------------------------------------


def test_open_becomes_half_open_via_state_after_open_for() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=5.0)
    trip(breaker, 1)
    clock.advance(4.999)
    assert breaker.state is OPEN
    clock.advance(0.5)
    assert breaker.state is HALF_OPEN
    assert seen[-1] == BreakerTransition("alpha", OPEN, HALF_OPEN, 105.0, "open for 5.0s elapsed")
    assert breaker.open_until is None and breaker.open_remaining == 0.0


def test_poll_advances_time_based_transition_without_traffic() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=0.3)
    trip(breaker, 1)
    breaker.poll()
    assert len(seen) == 1
    clock.advance(0.3)
    breaker.poll()
    assert [t.new for t in seen] == [OPEN, HALF_OPEN]
    breaker.poll()
    assert len(seen) == 2, "polling again must not emit again"


def test_half_open_limits_probes_in_flight() -> None:
    clock = FakeClock()
    breaker, _ = make(clock, failures=1, open_for=1.0, half_open_probes=2, successes=3)
    trip(breaker, 1)
    clock.advance(1.0)
    assert breaker.try_acquire()
    assert breaker.try_acquire()
    assert not breaker.try_acquire()
    assert breaker.probes_in_flight == 2
    breaker.record_success()
    assert breaker.state is HALF_OPEN
    assert breaker.try_acquire(), "a settled probe frees its slot"
    assert not breaker.try_acquire()


def test_release_gives_the_slot_back_without_judging() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=1.0)
    trip(breaker, 1)
    clock.advance(1.0)
    assert breaker.try_acquire()
    assert not breaker.try_acquire()
    breaker.release()
    assert breaker.state is HALF_OPEN
    assert breaker.probes_in_flight == 0
    assert breaker.try_acquire()
    assert [t.new for t in seen] == [OPEN, HALF_OPEN]


def test_release_while_closed_or_open_is_harmless() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1)
    breaker.release()
    assert breaker.state is CLOSED
    assert seen == []
    trip(breaker, 1)
    breaker.release()
    assert breaker.state is OPEN and breaker.probes_in_flight == 0


def test_consecutive_successes_close() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=1.0, successes=2)
    trip(breaker, 1)
    clock.advance(1.0)
    assert breaker.try_acquire()
    breaker.record_success()
    assert breaker.state is HALF_OPEN
    assert breaker.try_acquire()
    clock.advance(0.5)
    breaker.record_success()
    assert breaker.state is CLOSED
    assert seen[-1] == BreakerTransition("alpha", HALF_OPEN, CLOSED, 101.5, "2 probes succeeded")
    assert [(t.old, t.new) for t in seen] == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]
    # Closed again: the failure count starts from zero.
    assert breaker.consecutive_failures == 0
    assert breaker.try_acquire()


def test_results_while_open_are_ignored() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=1.0)
    trip(breaker, 1)
    breaker.record_failure("late failure")
    breaker.record_success()
    assert breaker.state is OPEN
    assert len(seen) == 1


def test_reopened_breaker_needs_full_run_of_successes() -> None:
    clock = FakeClock()
    breaker, _ = make(clock, failures=1, open_for=1.0, successes=2)
    trip(breaker, 1)
    clock.advance(1.0)
    assert breaker.try_acquire()
    breaker.record_success()
    assert breaker.try_acquire()
    breaker.record_failure("HTTP 502")
    half_open(breaker, clock)
    assert breaker.try_acquire()
    breaker.record_success()
    assert breaker.state is HALF_OPEN, "the earlier success must not carry over"


# -- backoff on re-open ------------------------------------------------------------------------


def test_half_open_failure_reopens_with_doubled_open_time() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=2.0)
    trip(breaker, 1)
    clock.advance(2.0)
    assert breaker.try_acquire()
    clock.advance(0.25)
    breaker.record_failure("timeout after 1.0s")
    assert breaker.state is OPEN
    assert seen[-1] == BreakerTransition(
        "alpha",
        HALF_OPEN,
        OPEN,
        102.25,
        "probe failed: timeout after 1.0s; open 4.0s (backoff \N{MULTIPLICATION SIGN}2)",
    )
    assert breaker.current_open_for == 4.0
    assert breaker.open_until == 106.25
    clock.advance(3.9)
    assert breaker.state is OPEN
    clock.advance(0.1)
    assert breaker.state is HALF_OPEN
    assert seen[-1].reason == "open for 4.0s elapsed"


def test_backoff_doubles_each_reopen_up_to_the_cap() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=1.0, max_open_for=5.0)
    trip(breaker, 1)
    lengths = [breaker.current_open_for]
    for _ in range(5):
        half_open(breaker, clock)
        breaker.try_acquire()
        breaker.record_failure("HTTP 500")
        lengths.append(breaker.current_open_for)
    assert lengths == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    reasons = [t.reason for t in seen if t.new is OPEN]
    assert reasons[1].endswith("open 2.0s (backoff \N{MULTIPLICATION SIGN}2)")
    assert reasons[3].endswith("open 5.0s (backoff \N{MULTIPLICATION SIGN}8, capped at 5.0s)")


def test_closing_resets_the_backoff_and_the_window() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=3, open_for=1.0, successes=1, min_calls=4, window=4)
    trip(breaker, 3)
    for _ in range(2):  # two failed probes: open 2 s, then 4 s
        half_open(breaker, clock)
        breaker.try_acquire()
        breaker.record_failure("HTTP 500")
    assert breaker.current_open_for == 4.0 and breaker.backoff == 8
    half_open(breaker, clock)
    breaker.try_acquire()
    breaker.record_success()
    assert breaker.state is CLOSED
    assert breaker.backoff == 1
    assert breaker.window_calls == 0, "closing starts a fresh window"
    # The old failures are gone: it takes a whole new judgement to open, and then for 1 s.
    breaker.record_success()
    trip(breaker, 1)
    breaker.record_success()
    trip(breaker, 1)
    assert breaker.state is OPEN, "2 of 4 calls"
    assert breaker.current_open_for == 1.0
    assert seen[-1].reason == "failure rate 50% over 4 calls (connection refused); open 1.0s"


def test_jitter_stays_within_ten_percent_and_is_deterministic() -> None:
    def open_times(seed: int) -> list[float]:
        clock = FakeClock()
        breaker, _ = make(clock, failures=1, open_for=2.0, max_open_for=1000.0, successes=1)
        breaker = CircuitBreaker("alpha", breaker.spec, clock=clock, rng=random.Random(seed))
        times: list[float] = []
        for _ in range(20):  # each cycle: open, a probe fails twice over, then it closes
            trip(breaker, 1)
            times.append(breaker.current_open_for)
            half_open(breaker, clock)
            breaker.try_acquire()
            breaker.record_failure("x")
            times.append(breaker.current_open_for / 2)
            half_open(breaker, clock)
            breaker.try_acquire()
            breaker.record_success()
            assert breaker.state is CLOSED
        return times

    first = open_times(1)
    assert first == open_times(1), "same seed, same open times"
    assert first != open_times(2)
    assert all(1.8 <= t <= 2.2 for t in first), first
    assert len(set(first)) > 10, "it really varies"


def test_jitter_never_exceeds_the_cap() -> None:
    clock = FakeClock()
    spec = BreakerSpec(failures=1, open_for=4.0, max_open_for=5.0)
    breaker = CircuitBreaker("alpha", spec, clock=clock, rng=random.Random(3))
    trip(breaker, 1)
    for _ in range(30):
        half_open(breaker, clock)
        breaker.try_acquire()
        breaker.record_failure("x")
        assert 4.5 <= breaker.current_open_for <= 5.0


# -- bookkeeping -------------------------------------------------------------------------------


def test_transitions_are_bounded() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=1.0, successes=1)
    for _ in range(100):
        trip(breaker, 1)
        clock.advance(1.0)
        assert breaker.try_acquire()
        breaker.record_success()
    assert len(seen) == 300, "the listener gets every transition"
    assert 0 < len(breaker.transitions) < 300
    assert breaker.transitions[-1] == seen[-1]


def test_broken_listener_does_not_break_the_breaker() -> None:
    def explode(_: BreakerTransition) -> None:
        raise RuntimeError("boom")

    spec = BreakerSpec(failures=1, open_for=1.0)
    breaker = CircuitBreaker("alpha", spec, clock=FakeClock(), on_transition=explode)
    breaker.record_failure("HTTP 500")
    assert breaker.state is OPEN
