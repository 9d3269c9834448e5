"""Moved to ``battletui.control.outcome`` (viewers read outcomes without the engine)."""

from battletui.control.outcome import ActionOutcome, ActionSource

__all__ = ["ActionOutcome", "ActionSource"]
