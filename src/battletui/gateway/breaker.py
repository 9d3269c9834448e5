"""Per-provider circuit breaker: stop sending traffic to a provider that keeps failing.

A pure state machine driven by an injected clock, so tests step time by hand and the states
on screen are exactly the ones that route traffic (nothing is re-derived elsewhere).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from battletui.scenario import BreakerSpec

__all__ = ["BreakerState", "BreakerTransition", "CircuitBreaker"]

_log = logging.getLogger(__name__)

_KEEP_TRANSITIONS: Final = 64
"""Recent transitions kept on the breaker; the listener sees every one, memory stays flat."""


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    """Traffic flows; consecutive failures are counted."""
    OPEN = "OPEN"
    """No traffic until ``open_for`` has elapsed."""
    HALF_OPEN = "HALF-OPEN"
    """A limited number of probe requests decide whether to close or open again."""


@dataclass(frozen=True)
class BreakerTransition:
    """One state change, with the clock time it took effect and why."""

    provider: str
    old: BreakerState
    new: BreakerState
    at: float
    reason: str


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
    ) -> None:
        self._provider = provider
        self._spec = spec
        self._clock = clock
        self._on_transition = on_transition
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._probes_in_flight = 0
        self._opened_at = 0.0
        self._transitions: deque[BreakerTransition] = deque(maxlen=_KEEP_TRANSITIONS)

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
        """Failures counted towards opening while CLOSED."""
        return self._failures

    @property
    def probes_in_flight(self) -> int:
        return self._probes_in_flight

    def poll(self) -> None:
        """Apply time-based transitions (OPEN -> HALF-OPEN once ``open_for`` has elapsed)."""
        if self._state is not BreakerState.OPEN:
            return
        due = self._opened_at + self._spec.open_for
        if self._clock() >= due:
            self._move(BreakerState.HALF_OPEN, f"open for {self._spec.open_for}s elapsed", due)

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
        elif state is BreakerState.HALF_OPEN:
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
            self._successes += 1
            if self._successes >= self._spec.successes:
                noun = "probe" if self._successes == 1 else "probes"
                self._move(BreakerState.CLOSED, f"{self._successes} {noun} succeeded")

    def record_failure(self, reason: str) -> None:
        state = self.state
        if state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._spec.failures:
                noun = "failure" if self._failures == 1 else "failures"
                self._move(BreakerState.OPEN, f"{self._failures} consecutive {noun} ({reason})")
        elif state is BreakerState.HALF_OPEN:
            self._move(BreakerState.OPEN, f"probe failed: {reason}")

    def _move(self, new: BreakerState, reason: str, at: float | None = None) -> None:
        when = self._clock() if at is None else at
        old = self._state
        self._state = new
        self._failures = 0
        self._successes = 0
        self._probes_in_flight = 0
        if new is BreakerState.OPEN:
            self._opened_at = when
        transition = BreakerTransition(self._provider, old, new, when, reason)
        self._transitions.append(transition)
        if self._on_transition is not None:
            try:
                self._on_transition(transition)
            except Exception:
                # A broken listener (UI, journal) must never stop traffic from being routed.
                _log.exception("breaker transition listener failed")
