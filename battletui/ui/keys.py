"""What each chaos key does to the selected provider, as an ``Action``."""

from __future__ import annotations

from battletui.scenario import ERROR_KINDS, LOAD_PAUSE, LOAD_RESUME, STRATEGIES, Action

DEGRADE_STEP = 0.100
"""Each press of ``d`` adds this much latency on top of what is already added."""
DEGRADE_JITTER_STEP = 0.020
FLAP_DOWN = 2.0
FLAP_UP = 3.0


def kill(target: str) -> Action:
    return Action("kill", target)


def restore(target: str) -> Action:
    return Action("restore", target)


def degrade(target: str) -> Action:
    return Action(
        "degrade",
        target,
        {"latency": DEGRADE_STEP, "jitter": DEGRADE_JITTER_STEP, "relative": True, "method": ""},
    )


def flap(target: str) -> Action:
    return Action("flap", target, {"down": FLAP_DOWN, "up": FLAP_UP, "cycles": 0})


def ws_drop(target: str) -> Action:
    return Action("ws-drop", target)


ERROR_RATES = (0.25, 0.5, 1.0, 0.0)
"""What ``e`` steps through: each press moves to the next rate, then off."""
REORG_DEPTH = 2
MAX_KEY_RATE = 200_000
"""The highest rate ``+`` goes to (a scenario's own limit)."""


def next_error_rate(current: float) -> float:
    for rate in ERROR_RATES:
        if rate > current:
            return rate
    return 0.0


def next_error_kind(current: str) -> str:
    return ERROR_KINDS[(ERROR_KINDS.index(current) + 1) % len(ERROR_KINDS)]


def errors(target: str, rate: float, kind: str) -> Action:
    return Action(
        "errors", target, {"rate": rate, "kind": kind, "code": -32603, "retry_after": 1.0}
    )


def hang(target: str) -> Action:
    return Action("hang", target)


def lag(target: str) -> Action:
    return Action("lag", target)


def reorg() -> Action:
    return Action("reorg", None, {"depth": REORG_DEPTH})


def next_strategy(current: str) -> Action:
    index = STRATEGIES.index(current) if current in STRATEGIES else -1
    return Action("strategy", None, {"name": STRATEGIES[(index + 1) % len(STRATEGIES)]})


def mark(label: str) -> Action:
    return Action("mark", None, {"label": label})


RATE_STEPS = tuple(
    base * 10**power
    for power in range(6)
    for base in (1, 1.5, 2, 3, 5, 7.5)
    if base * 10**power <= MAX_KEY_RATE
)
"""What ``+`` and ``-`` step the target rate through (req/s): about 1.5x a step, round
numbers a room can read."""


def next_rate(current: float, step: int) -> float | None:
    """The next rate up (``step`` 1) or down (-1) from ``current``; None past either end."""
    if step > 0:
        return next((rate for rate in RATE_STEPS if rate > current * 1.0001), None)
    return next((rate for rate in reversed(RATE_STEPS) if rate < current * 0.9999), None)


def rate(value: float) -> Action:
    return Action("load", None, {"value": float(value)})


def pause(paused_now: bool) -> Action:
    return Action("load", None, {"value": LOAD_RESUME if paused_now else LOAD_PAUSE})
