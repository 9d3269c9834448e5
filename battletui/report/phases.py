"""Splitting a session into phases: before, during and after each fault.

The session is cut at every applied action that changes what is wrong (a fault starting,
a restore, a strategy switch, a one-off like a reorg). Each window is named after the faults
active in it, so "kill alpha" and "after restore alpha" read directly as the cost of a fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from battletui.scenario import LOAD_PAUSE, LOAD_RESUME, Action

LASTING = ("kill", "flap", "hang", "lag", "errors", "degrade")
ONE_OFF = ("ws-drop", "reorg")


@dataclass(frozen=True)
class PhaseWindow:
    start: float
    end: float
    label: str


def _state_label(active: Mapping[str, Mapping[str, str]], strategy: str | None) -> str:
    parts = [text for faults in active.values() for text in faults.values()]
    if strategy:
        parts.append(f"strategy {strategy}")
    return " + ".join(parts)


def phase_windows(
    actions: Sequence[Mapping[str, Any]], duration: float, initial_strategy: str
) -> list[PhaseWindow]:
    """Windows covering [0, duration) from the applied actions (dicts as in result.json)."""
    active: dict[str, dict[str, str]] = {}
    strategy: str | None = None
    cuts: list[tuple[float, str]] = []
    seen_fault = False
    for entry in sorted((a for a in actions if a.get("applied")), key=lambda a: float(a["offset"])):
        kind = str(entry["kind"])
        action = Action(kind, entry.get("target"), entry.get("params") or {})
        target = action.target or ""
        if kind == "mark":
            continue
        if kind == "restore" and not active.get(target):
            continue  # nothing was wrong with it: restore all touches every provider
        if kind == "load":
            value = action.params.get("value")
            if value == LOAD_PAUSE:
                active.setdefault("", {})["pause"] = "load paused"
            elif value == LOAD_RESUME:
                active.get("", {}).pop("pause", None)
            else:
                continue  # a new rate changes the load, not what is wrong
        elif kind == "restore":
            active.pop(target, None)
        elif kind == "strategy":
            name = str(action.params.get("name", ""))
            strategy = None if name == initial_strategy else name
        elif kind == "errors" and not float(action.params.get("rate", 0.0)):
            active.get(target, {}).pop("errors", None)
        elif kind == "degrade" and not float(action.params.get("latency", 0.0)):
            active.get(target, {}).pop(f"degrade{action.params.get('method') or ''}", None)
        elif kind in LASTING:
            slot = kind if kind != "degrade" else f"degrade{action.params.get('method') or ''}"
            if kind in ("kill", "flap", "hang"):  # one way of being down at a time
                for other in ("kill", "flap", "hang"):
                    active.get(target, {}).pop(other, None)
            active.setdefault(target, {})[slot] = action.describe()
        label = _state_label(active, strategy)
        if not label:
            label = f"after {action.describe()}"
        seen_fault = seen_fault or kind in LASTING or kind in ONE_OFF
        cuts.append((float(entry["offset"]), label))
    windows: list[PhaseWindow] = []
    start, label = 0.0, "before any fault"
    for offset, next_label in cuts:
        offset = min(max(offset, 0.0), duration)
        if next_label == label:
            continue
        if offset > start:
            windows.append(PhaseWindow(start, offset, label))
        start, label = offset, next_label
    if duration > start or not windows:
        windows.append(PhaseWindow(start, max(duration, start), label))
    if not seen_fault and len(windows) == 1:
        windows[0] = PhaseWindow(windows[0].start, windows[0].end, "whole session")
    return windows


def window_of(windows: Sequence[PhaseWindow], interval_index: int) -> int | None:
    """Which window a one-second interval belongs to (by its middle)."""
    middle = interval_index + 0.5
    for position, window in enumerate(windows):
        if window.start <= middle < window.end:
            return position
    return len(windows) - 1 if windows and middle >= windows[-1].end else None
