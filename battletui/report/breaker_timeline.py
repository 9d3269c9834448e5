"""What each fault did to its provider's breaker: how fast it opened, how long it stayed
open, how fast it recovered after the restore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from battletui.scenario import Action

BREAKING = ("kill", "flap", "hang", "errors", "lag", "degrade")


@dataclass(frozen=True)
class FaultImpact:
    provider: str
    fault: str
    at: float
    opened_after: float | None
    """Seconds from the fault to the breaker's first OPEN (None: it never opened)."""
    open_for: float | None
    """Seconds from that OPEN to the next CLOSED (None: still not closed at the end)."""
    restored_at: float | None
    recovered_after: float | None
    """Seconds from the restore to CLOSED (None: no restore, or not closed again)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "fault": self.fault,
            "at": round(self.at, 3),
            "opened_after_s": _r(self.opened_after),
            "open_for_s": _r(self.open_for),
            "restored_at": _r(self.restored_at),
            "recovered_after_s": _r(self.recovered_after),
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def fault_impacts(
    actions: Sequence[Mapping[str, Any]],
    transitions: Mapping[str, Sequence[Mapping[str, Any]]],
    end: float,
) -> list[FaultImpact]:
    applied = sorted((a for a in actions if a.get("applied")), key=lambda a: float(a["offset"]))
    impacts: list[FaultImpact] = []
    for index, entry in enumerate(applied):
        if entry["kind"] not in BREAKING or not entry.get("target"):
            continue
        if entry["kind"] == "errors" and not float((entry.get("params") or {}).get("rate", 0)):
            continue
        provider = str(entry["target"])
        at = float(entry["offset"])
        restored_at = next(
            (
                float(a["offset"])
                for a in applied[index + 1 :]
                if a["kind"] == "restore" and a.get("target") == provider
            ),
            None,
        )
        horizon = restored_at if restored_at is not None else end
        changes = sorted(transitions.get(provider, []), key=lambda t: float(t["offset"]))
        opened = next(
            (
                float(t["offset"])
                for t in changes
                if t["to"] == "OPEN" and at <= float(t["offset"]) <= horizon + 0.001
            ),
            None,
        )
        closed = None
        if opened is not None:
            closed = next(
                (
                    float(t["offset"])
                    for t in changes
                    if t["to"] == "CLOSED" and float(t["offset"]) > opened
                ),
                None,
            )
        recovered = None
        if restored_at is not None and closed is not None and closed >= restored_at:
            recovered = closed - restored_at
        impacts.append(
            FaultImpact(
                provider=provider,
                fault=Action(entry["kind"], provider, entry.get("params") or {}).describe(),
                at=at,
                opened_after=None if opened is None else opened - at,
                open_for=None if opened is None or closed is None else closed - opened,
                restored_at=restored_at,
                recovered_after=recovered,
            )
        )
    return impacts
