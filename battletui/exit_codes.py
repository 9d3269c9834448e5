"""The command's exit codes (documented in --help and the README)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

PASS: Final = 0
SLO_FAILED: Final = 1
"""An SLO failed, or a figure regressed against the baseline."""
USAGE: Final = 2
LAB_FAILED: Final = 3
INTERRUPTED: Final = 130


def of_result(result: Mapping[str, Any]) -> int:
    return PASS if result.get("verdict") == "pass" else SLO_FAILED
