"""The circuit breaker state machine, stepped by hand against a fake clock."""

from __future__ import annotations

import pytest

from battletui.gateway import BreakerState, BreakerTransition, CircuitBreaker
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
) -> tuple[CircuitBreaker, list[BreakerTransition]]:
    seen: list[BreakerTransition] = []
    spec = BreakerSpec(
        failures=failures,
        open_for=open_for,
        half_open_probes=half_open_probes,
        successes=successes,
    )
    return CircuitBreaker("alpha", spec, clock=clock, on_transition=seen.append), seen


def trip(breaker: CircuitBreaker, n: int, reason: str = "connection refused") -> None:
    for _ in range(n):
        breaker.record_failure(reason)


def test_starts_closed_and_lets_traffic_through() -> None:
    breaker, seen = make(FakeClock())
    assert breaker.state is CLOSED
    assert all(breaker.try_acquire() for _ in range(10))
    assert seen == []
    assert breaker.transitions == ()


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
            "alpha", CLOSED, OPEN, 101.5, "3 consecutive failures (connection refused)"
        )
    ]
    assert breaker.transitions == tuple(seen)


def test_success_resets_the_failure_count() -> None:
    breaker, seen = make(FakeClock(), failures=3)
    trip(breaker, 2)
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    trip(breaker, 2)
    assert breaker.state is CLOSED
    breaker.record_failure("HTTP 500")
    assert breaker.state is OPEN
    assert seen[-1].reason == "3 consecutive failures (HTTP 500)"


def test_open_becomes_half_open_via_state_after_open_for() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=5.0)
    trip(breaker, 1)
    clock.advance(4.999)
    assert breaker.state is OPEN
    clock.advance(0.5)
    assert breaker.state is HALF_OPEN
    assert seen[-1] == BreakerTransition("alpha", OPEN, HALF_OPEN, 105.0, "open for 5.0s elapsed")


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


def test_release_while_closed_is_harmless() -> None:
    breaker, seen = make(FakeClock())
    breaker.release()
    assert breaker.state is CLOSED
    assert seen == []


def test_half_open_failure_reopens_for_another_full_period() -> None:
    clock = FakeClock()
    breaker, seen = make(clock, failures=1, open_for=2.0)
    trip(breaker, 1)
    clock.advance(2.0)
    assert breaker.try_acquire()
    clock.advance(0.25)
    breaker.record_failure("timeout after 1.0s")
    assert breaker.state is OPEN
    assert seen[-1] == BreakerTransition(
        "alpha", HALF_OPEN, OPEN, 102.25, "probe failed: timeout after 1.0s"
    )
    clock.advance(1.9)
    assert breaker.state is OPEN
    clock.advance(0.1)
    assert breaker.state is HALF_OPEN


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
    clock.advance(1.0)
    assert breaker.try_acquire()
    breaker.record_success()
    assert breaker.state is HALF_OPEN, "the earlier success must not carry over"


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


@pytest.mark.parametrize("reason", ["connection refused", "HTTP 503", "JSON-RPC error -32603"])
def test_reason_is_carried_into_the_transition(reason: str) -> None:
    breaker, seen = make(FakeClock(), failures=1)
    breaker.record_failure(reason)
    assert seen[0].reason == f"1 consecutive failure ({reason})"
