"""What became of an action: applied (and verified) or not, and when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from battletui.scenario import Action

ActionSource = Literal["key", "timeline", "api"]


@dataclass(frozen=True)
class ActionOutcome:
    action: Action
    offset: float
    """Seconds from session start at which the action was issued."""
    source: ActionSource
    applied: bool
    detail: str = ""
    """What the verification saw (e.g. "port 41234 refuses connections")."""
    error: str | None = None

    def to_json(self) -> Mapping[str, Any]:
        return {
            "offset": round(self.offset, 3),
            "kind": self.action.kind,
            "target": self.action.target,
            "params": dict(self.action.params),
            "source": self.source,
            "applied": self.applied,
            "detail": self.detail,
            "error": self.error,
        }
