"""The command's exit codes (documented in --help and the README)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

PASS: Final = 0
SLO_FAILED: Final = 1
"""An SLO failed, or a figure regressed against the baseline."""
USAGE: Final = 2
COULD_NOT_RUN: Final = 3
"""The session could not start (a port taken, a child that failed, a target that never
answered) or could not be written (a full disk): one line says why."""
INCONCLUSIVE: Final = 4
"""The load generator fell behind: its figures are not a measurement of the gateway, so no
SLO failure is blamed on it (nor is a pass claimed)."""
INTERRUPTED: Final = 130


def of_result(result: Mapping[str, Any]) -> int:
    verdict = result.get("verdict")
    if verdict == "inconclusive":
        return INCONCLUSIVE
    return PASS if verdict in ("pass", "none") else SLO_FAILED  # none: a lab, nothing judged
