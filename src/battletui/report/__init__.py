"""Turning a session into evidence: SLO verdicts, ``result.json`` and ``report.md``."""

from battletui.report.markdown import render_report
from battletui.report.outputs import REPORT_NAME, RESULT_NAME, write_outputs
from battletui.report.record import SessionRecord
from battletui.report.result import build_result, slo_results, verdict_of
from battletui.report.slo import SloResult, evaluate_slos

__all__ = [
    "REPORT_NAME",
    "RESULT_NAME",
    "SessionRecord",
    "SloResult",
    "build_result",
    "evaluate_slos",
    "render_report",
    "slo_results",
    "verdict_of",
    "write_outputs",
]
