"""The few lines a terminal or CI log gets at the end of a session: verdict, SLOs, baseline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from battletui.report.instrument import fell_behind, why_behind
from battletui.report.slo import SloResult
from battletui.scenario import clock_tenths


def print_summary(result: Mapping[str, Any], out: TextIO) -> None:
    if result.get("load", True) is False:
        print("verdict: NONE (a lab session: battletui sent no load, nothing judged)", file=out)
        return
    print(f"verdict: {str(result['verdict']).upper()}", file=out)
    instrument = result.get("instrument")
    behind = fell_behind(instrument, clock_tenths)
    if behind and instrument:
        print(f"  {behind}", file=out)
        print(f"  ({why_behind(instrument)}); the SLOs below are as measured", file=out)
    for entry in result["slos"]:
        slo = SloResult.from_json(entry)
        actual, target = slo.texts()
        mark = "pass" if slo.passed else "FAIL"
        print(f"  {mark}  {slo.name:<13} {actual:>10}  (target {target})", file=out)
    baseline = result.get("baseline")
    if isinstance(baseline, Mapping):
        regressions = baseline.get("regressions") or []
        print(
            f"baseline {baseline['file']} (tolerance {float(baseline['tolerance']) * 100:g}%):"
            f" {len(regressions)} regression{'s' if len(regressions) != 1 else ''}",
            file=out,
        )
        if baseline.get("target_note"):
            print(f"  note  {baseline['target_note']}", file=out)
        for regression in regressions:
            print(f"  FAIL  {regression['why']}", file=out)
