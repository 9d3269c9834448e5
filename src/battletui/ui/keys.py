"""What each chaos key does to the selected provider, as an ``Action``."""

from __future__ import annotations

from battletui.scenario import Action

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
        {"latency": DEGRADE_STEP, "jitter": DEGRADE_JITTER_STEP, "relative": True},
    )


def flap(target: str) -> Action:
    return Action("flap", target, {"down": FLAP_DOWN, "up": FLAP_UP, "cycles": 0})


def ws_drop(target: str) -> Action:
    return Action("ws-drop", target)
