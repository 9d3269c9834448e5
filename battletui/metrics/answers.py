"""Answers checked against the canonical chain: how many, how many stale, how many wrong,
per method and per upstream (who served them, from ``X-Upstream``).

Counted per second as ``"verdict\\tmethod\\tupstream"`` keys (``checked`` for every judged
answer, ``stale`` / ``wrong`` on top), so the journal, the workers' records and the merge
stay plain counters; ``AnswerSummary.of`` folds them into the figures people read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from battletui.metrics.ws import WsView

CHECKED: Final = "checked"
STALE: Final = "stale"
WRONG: Final = "wrong"
FIELDS: Final = (CHECKED, STALE, WRONG)
NO_UPSTREAM: Final = "(unknown)"
"""The upstream of an answer whose gateway does not say who served it."""


def answer_keys(verdict: str, method: str, upstream: str | None) -> Iterable[str]:
    """The counter keys one judged answer adds to."""
    tail = f"\t{method}\t{upstream or ''}"
    if verdict == "ok":
        return (CHECKED + tail,)
    return (CHECKED + tail, verdict + tail)


def _zero() -> dict[str, int]:
    return dict.fromkeys(FIELDS, 0)


@dataclass(frozen=True)
class AnswerSummary:
    checked: int = 0
    stale: int = 0
    wrong: int = 0
    by_method: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    by_upstream: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> AnswerSummary:
        totals = _zero()
        by_method: dict[str, dict[str, int]] = {}
        by_upstream: dict[str, dict[str, int]] = {}
        for key, count in counts.items():
            verdict, method, upstream = [*key.split("\t"), "", ""][:3]
            if verdict not in totals:
                continue
            totals[verdict] += count
            by_method.setdefault(method, _zero())[verdict] += count
            by_upstream.setdefault(upstream or NO_UPSTREAM, _zero())[verdict] += count
        return cls(
            totals[CHECKED],
            totals[STALE],
            totals[WRONG],
            dict(sorted(by_method.items())),
            dict(sorted(by_upstream.items())),
        )

    def with_heads(self, ws: WsView | None) -> AnswerSummary:
        """These answers and the WebSocket subscribers' heads (method ``newHeads``)."""
        if ws is None or not ws.checked:
            return self
        heads = {CHECKED: ws.checked, STALE: ws.stale, WRONG: ws.wrong}
        by_method = {k: dict(v) for k, v in self.by_method.items()}
        by_method["newHeads"] = heads
        return AnswerSummary(
            self.checked + ws.checked,
            self.stale + ws.stale,
            self.wrong + ws.wrong,
            dict(sorted(by_method.items())),
            self.by_upstream,
        )

    @property
    def stale_rate(self) -> float | None:
        return self.stale / self.checked if self.checked else None

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "stale": self.stale,
            "wrong": self.wrong,
            "by_method": {k: dict(v) for k, v in self.by_method.items()},
            "by_upstream": {k: dict(v) for k, v in self.by_upstream.items()},
        }

    @classmethod
    def from_json(cls, value: Any) -> AnswerSummary:
        if not isinstance(value, dict):
            return cls()
        return cls(
            int(value.get("checked", 0)),
            int(value.get("stale", 0)),
            int(value.get("wrong", 0)),
            {
                str(k): {f: int(v.get(f, 0)) for f in FIELDS}
                for k, v in dict(value.get("by_method") or {}).items()
            },
            {
                str(k): {f: int(v.get(f, 0)) for f in FIELDS}
                for k, v in dict(value.get("by_upstream") or {}).items()
            },
        )
