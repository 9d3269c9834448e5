"""Pausing, resuming and re-pacing battletui's own load (the ``load`` action).

A person at the screen pauses the load to let the room look at a quiet gateway, or steps the
rate up to show where it bends; a replay does the same at the same offsets. The target rate
is kept apart from what the workers are told: a paused load is told 0 req/s and still has a
target, which ``resume`` (or a new rate while paused) gives back.
"""

from __future__ import annotations

from collections.abc import Callable

from battletui.engine.chaos import ChaosError
from battletui.scenario import LOAD_PAUSE, LOAD_RESUME, ParamValue


class LoadControl:
    """The load's target rate and whether it is paused; ``apply`` changes them."""

    def __init__(self, rate: float, *, closed: bool, set_rate: Callable[[float], None]) -> None:
        self.target_rate = rate
        self.paused = False
        self._closed = closed
        self._set_rate = set_rate

    def apply(self, value: ParamValue) -> str:
        """Do what a ``load`` action says; return what now holds. Raises ChaosError."""
        if value == LOAD_PAUSE:
            if self.paused:
                return "already paused"
            self.paused = True
            self._set_rate(0.0)
            return "paused: 0 req/s sent"
        if value == LOAD_RESUME:
            if not self.paused:
                return "already running"
            self.paused = False
            self._set_rate(self.target_rate)
            return "resumed" if self._closed else f"resumed at {self.target_rate:g} req/s"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ChaosError(f"load: expected pause, resume or a rate, got {value!r}")
        if self._closed:
            raise ChaosError("load: rate: max is a closed loop; it has no target rate to change")
        before, self.target_rate = self.target_rate, float(value)
        if self.paused:
            return f"target {self.target_rate:g} req/s (was {before:g}); still paused"
        self._set_rate(self.target_rate)
        return f"target {self.target_rate:g} req/s (was {before:g})"
