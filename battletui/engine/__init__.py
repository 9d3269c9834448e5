"""The engine: runs one session (lab, workload, timeline, journal) behind ``apply(action)``."""

from battletui.engine.journal import JOURNAL_NAME, Journal, read_journal
from battletui.engine.lab import Lab, LabError
from battletui.engine.link import LocalSessionLink, SessionLink
from battletui.engine.outcome import ActionOutcome, ActionSource
from battletui.engine.session import Session, SessionError

__all__ = [
    "JOURNAL_NAME",
    "ActionOutcome",
    "ActionSource",
    "Journal",
    "Lab",
    "LabError",
    "LocalSessionLink",
    "Session",
    "SessionError",
    "SessionLink",
    "read_journal",
]
