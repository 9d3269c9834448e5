"""Per-provider circuit breaker: stop sending traffic to a provider that keeps failing.

A pure state machine driven by an injected clock, so tests step time by hand and the states
on screen are exactly the ones that route traffic (nothing is re-derived elsewhere).

Rules (``spec`` is a :class:`~battletui.scenario.BreakerSpec`):

* CLOSED → OPEN on ``failures`` consecutive failures, or when the sliding window of the last
  ``window`` calls holds at least ``min_calls`` calls (never more than ``window``) and their
  failure share is at least ``failure_rate``. A success resets the consecutive count only.
* OPEN lasts ``open_for`` seconds, doubled on each consecutive re-open (an open that follows a
  failed half-open without the breaker having closed in between), capped at ``max_open_for``,
  with a small jitter (±10 %) from the seeded random source passed in (none without one). The
  backoff starts from ``open_for`` again once the breaker has closed.
* HALF-OPEN admits at most ``half_open_probes`` probes at once; any failure opens it again (with
  backoff); ``successes`` consecutive successes close it, with a fresh window.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from battletui.gateway.listeners import notify
from battletui.protocol.events import BreakerState, BreakerTransition
from battletui.scenario import BreakerSpec

__all__ = ["JITTER", "CircuitBreaker"]

_KEEP_TRANSITIONS: Final = 64
"""Recent transitions kept on the breaker; the listener sees every one, memory stays flat."""
JITTER: Final = 0.1
"""Open times vary by up to this share either way, so breakers opened together do not all
probe at the same instant."""
_TIMES: Final = "\N{MULTIPLICATION SIGN}"
_MAX_DOUBLINGS: Final = 32
"""The backoff exponent stops growing here (the cap has long been reached)."""


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value >= 0.1 or value == 0 else f"{value * 1000:.0f}ms"


class CircuitBreaker:
    """Closed / open / half-open breaker for one provider.

    Results of requests that started in an earlier state are judged by the current state:
    while OPEN they are ignored (the breaker has already decided), while HALF-OPEN they count
    like probes.
    """

    def __init__(
        self,
        provider: str,
        spec: BreakerSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[BreakerTransition], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._provider = provider
        self._spec = spec
        self._clock = clock
        self._on_transition = on_transition
        self._rng = rng
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._probes_in_flight = 0
        self._window: deque[bool] = deque(maxlen=max(0, spec.window))
        """Recent calls while CLOSED, True for a failure."""
        self._opened_at = 0.0
        self._open_for = spec.open_for
        """Length of the current (or last) open period, jitter included."""
        self._doublings = 0
        """How many times the next re-open doubles ``open_for`` (0 after closing)."""
        self._transitions: deque[BreakerTransition] = deque(maxlen=_KEEP_TRANSITIONS)

    # -- observation -------------------------------------------------------------------------

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def spec(self) -> BreakerSpec:
        return self._spec

    @property
    def state(self) -> BreakerState:
        """The current state; an OPEN breaker whose time is up becomes HALF-OPEN here."""
        self.poll()
        return self._state

    @property
    def transitions(self) -> tuple[BreakerTransition, ...]:
        """The most recent transitions, oldest first (bounded)."""
        return tuple(self._transitions)

    @property
    def consecutive_failures(self) -> int:
        """Failures in a row counted towards opening while CLOSED."""
        return self._failures

    @property
    def probes_in_flight(self) -> int:
        return self._probes_in_flight

    @property
    def window_calls(self) -> int:
        """Calls held in the sliding window (CLOSED only; emptied on every transition)."""
        return len(self._window)

    @property
    def window_failures(self) -> int:
        return sum(self._window)

    @property
    def open_until(self) -> float | None:
        """Clock time at which an OPEN breaker lets probes through; None unless OPEN."""
        if self.state is not BreakerState.OPEN:
            return None
        return self._opened_at + self._open_for

    @property
    def open_remaining(self) -> float:
        """Seconds an OPEN breaker stays open ("open for 7.3 s more"); 0 unless OPEN."""
        until = self.open_until
        return 0.0 if until is None else max(0.0, until - self._clock())

    @property
    def current_open_for(self) -> float:
        """Length of the current (or most recent) open period, backoff and jitter included;
        ``spec.open_for`` before the breaker ever opened."""
        return self._open_for

    @property
    def backoff(self) -> int:
        """Multiplier of ``open_for`` the next re-open would use (1 after closing)."""
        return 1 << self._doublings

    # -- transitions -------------------------------------------------------------------------

    def poll(self) -> None:
        """Apply time-based transitions (OPEN -> HALF-OPEN once the open time has elapsed)."""
        if self._state is not BreakerState.OPEN:
            return
        due = self._opened_at + self._open_for
        if self._clock() >= due:
            self._move(BreakerState.HALF_OPEN, f"open for {_seconds(self._open_for)} elapsed", due)

    def try_acquire(self) -> bool:
        """May a request go to this provider now? Takes a probe slot when HALF-OPEN."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and self._probes_in_flight < max(
            1, self._spec.half_open_probes
        ):
            self._probes_in_flight += 1
            return True
        return False

    def release(self) -> None:
        """Give a half-open probe slot back without judging the provider (e.g. cancelled)."""
        if self.state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)

    def record_success(self) -> None:
        state = self.state
        if state is BreakerState.CLOSED:
            self._failures = 0
            self._window.append(False)
        elif state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
            self._successes += 1
            if self._successes >= self._spec.successes:
                noun = "probe" if self._successes == 1 else "probes"
                self._doublings = 0
                self._move(BreakerState.CLOSED, f"{self._successes} {noun} succeeded")

    def record_failure(self, reason: str) -> None:
        state = self.state
        if state is BreakerState.CLOSED:
            self._failures += 1
            self._window.append(True)
            if self._failures >= self._spec.failures:
                noun = "failure" if self._failures == 1 else "failures"
                self._open(f"{self._failures} consecutive {noun} ({reason})")
                return
            calls = len(self._window)
            needed = max(1, min(self._spec.min_calls, self._window.maxlen or 0))
            if self._window.maxlen and calls >= needed:
                share = sum(self._window) / calls
                if share >= self._spec.failure_rate:
                    self._open(f"failure rate {share * 100:.0f}% over {calls} calls ({reason})")
        elif state is BreakerState.HALF_OPEN:
            self._open(f"probe failed: {reason}")

    def _open(self, why: str) -> None:
        spec = self._spec
        cap = max(spec.max_open_for, spec.open_for)
        multiplier = 1 << self._doublings
        nominal = min(spec.open_for * multiplier, cap)
        if self._rng is not None:
            nominal *= 1.0 + self._rng.uniform(-JITTER, JITTER)
        self._open_for = min(nominal, cap)
        if multiplier == 1:
            note = ""
        elif spec.open_for * multiplier >= cap:
            note = f" (backoff {_TIMES}{multiplier}, capped at {_seconds(cap)})"
        else:
            note = f" (backoff {_TIMES}{multiplier})"
        self._doublings = min(self._doublings + 1, _MAX_DOUBLINGS)
        self._move(BreakerState.OPEN, f"{why}; open {_seconds(self._open_for)}{note}")

    def _move(self, new: BreakerState, reason: str, at: float | None = None) -> None:
        when = self._clock() if at is None else at
        old = self._state
        self._state = new
        self._failures = 0
        self._successes = 0
        self._probes_in_flight = 0
        self._window.clear()
        if new is BreakerState.OPEN:
            self._opened_at = when
        transition = BreakerTransition(self._provider, old, new, when, reason)
        self._transitions.append(transition)
        notify(self._on_transition, transition)
