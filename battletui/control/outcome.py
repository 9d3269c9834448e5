"""What became of an action: applied (and verified) or not, and when.

Lives in ``control`` (not the engine) because viewers and ``battletui ctl`` read outcomes off
the wire and must not import the engine to do so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from battletui.scenario import Action

ActionSource = Literal["key", "timeline", "api"]
ACTION_SOURCES: tuple[ActionSource, ...] = ("key", "timeline", "api")


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
    verify_ms: float | None = None
    """Milliseconds from the engine taking the action to its effect verified (or refused)."""

    def to_json(self) -> Mapping[str, Any]:
        extra = {} if self.verify_ms is None else {"verify_ms": round(self.verify_ms, 1)}
        return {
            "offset": round(self.offset, 3),
            "kind": self.action.kind,
            "target": self.action.target,
            "params": dict(self.action.params),
            "source": self.source,
            "applied": self.applied,
            "detail": self.detail,
            "error": self.error,
            **extra,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ActionOutcome:
        """The inverse of ``to_json`` (offset to the millisecond); ValueError if malformed."""
        try:
            source = data["source"]
            if source not in ACTION_SOURCES:
                raise ValueError(f"unknown action source {source!r}")
            error = data.get("error")
            return cls(
                action=Action(str(data["kind"]), data.get("target"), dict(data.get("params", {}))),
                offset=float(data["offset"]),
                source=cast(ActionSource, source),
                applied=bool(data["applied"]),
                detail=str(data.get("detail", "")),
                error=None if error is None else str(error),
                verify_ms=None if data.get("verify_ms") is None else float(data["verify_ms"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed action outcome: {err!r}") from None
