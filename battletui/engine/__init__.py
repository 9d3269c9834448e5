"""The engine: runs one session behind ``apply(action)``: the lab and the reference gateway
as child processes, the workload, timeline, probes and journal on its own loop."""

from battletui.control.outcome import ActionOutcome, ActionSource
from battletui.engine.errors import SessionStartError
from battletui.engine.journal import JOURNAL_NAME, Journal, read_journal
from battletui.engine.lab_client import LabClient, LabRequestError, LabState, Received
from battletui.engine.lab_process import LabProcess, ProviderEndpoint
from battletui.engine.lab_watcher import LabWatcher
from battletui.engine.session import Session, SessionError

__all__ = [
    "JOURNAL_NAME",
    "ActionOutcome",
    "ActionSource",
    "Journal",
    "LabClient",
    "LabProcess",
    "LabRequestError",
    "LabState",
    "LabWatcher",
    "ProviderEndpoint",
    "Received",
    "Session",
    "SessionError",
    "SessionStartError",
    "read_journal",
]
