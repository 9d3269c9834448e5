"""Turning a session into evidence: SLO verdicts, ``result.json`` and ``report.md``."""

from battletui.report.hlog import HLOG_NAME, write_hlog
from battletui.report.journal_reader import read_journal
from battletui.report.markdown import render_report
from battletui.report.outputs import REPORT_NAME, RESULT_NAME, write_outputs, write_scenario
from battletui.report.rebuild import KILLED, RebuildError, rebuild
from battletui.report.record import PhaseStats, SessionRecord
from battletui.report.recording import recorded_scenario
from battletui.report.result import build_result, slo_results, verdict_of
from battletui.report.slo import SloResult, evaluate_slos

__all__ = [
    "HLOG_NAME",
    "KILLED",
    "REPORT_NAME",
    "RESULT_NAME",
    "PhaseStats",
    "RebuildError",
    "SessionRecord",
    "SloResult",
    "build_result",
    "evaluate_slos",
    "read_journal",
    "rebuild",
    "recorded_scenario",
    "render_report",
    "slo_results",
    "verdict_of",
    "write_hlog",
    "write_outputs",
    "write_scenario",
]
