"""What chaos is currently applied to a provider, as one immutable value for snapshots.

The lab process makes it from its providers and sends it as JSON (``to_json``); the engine
reads it back (``from_json``), so both sides share this definition, not each other's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

__all__ = ["FaultState"]


def _no_methods() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True)
class FaultState:
    """A provider's faults at one instant (all seconds; defaults = no fault).

    * ``killed`` is the current listening state (it follows the phase while flapping);
      ``flapping`` is true while a flap runs.
    * ``added_latency`` / ``added_jitter``: the ``degrade`` of every request.
    * ``method_latency`` / ``method_jitter``: per JSON-RPC method ``degrade``, on top of the
      global one (method name -> seconds; only degraded methods appear).
    * ``error_rate`` / ``error_kind`` / ``error_code`` / ``retry_after``: the ``errors``
      fault (rate 0 and the others None when off).
    * ``hung``: accepting connections and answering nothing.
    * ``lagging`` / ``lag_head``: the provider's head frozen at ``lag_head``.

    The two mappings are read-only, compared by ``==`` and left out of the hash.
    """

    killed: bool = False
    flapping: bool = False
    added_latency: float = 0.0
    added_jitter: float = 0.0
    method_latency: Mapping[str, float] = field(default_factory=_no_methods, hash=False)
    method_jitter: Mapping[str, float] = field(default_factory=_no_methods, hash=False)
    error_rate: float = 0.0
    error_kind: str | None = None
    error_code: int | None = None
    retry_after: float | None = None
    hung: bool = False
    lagging: bool = False
    lag_head: int | None = None

    @property
    def active(self) -> bool:
        """True when any fault is applied."""
        return self != FaultState()

    def summary(self) -> dict[str, object]:
        """The active faults as a short JSON-able dict (what ``GET /health`` shows)."""
        out: dict[str, object] = {}
        if self.killed:
            out["killed"] = True
        if self.flapping:
            out["flapping"] = True
        if self.added_latency or self.added_jitter:
            out["degrade"] = {"latency": self.added_latency, "jitter": self.added_jitter}
        if self.method_latency or self.method_jitter:
            names = sorted(set(self.method_latency) | set(self.method_jitter))
            out["degrade_methods"] = {
                name: {
                    "latency": self.method_latency.get(name, 0.0),
                    "jitter": self.method_jitter.get(name, 0.0),
                }
                for name in names
            }
        if self.error_rate > 0:
            errors: dict[str, object] = {
                "rate": self.error_rate,
                "kind": self.error_kind,
                "code": self.error_code,
            }
            if self.error_kind == "rate-limit":
                errors["retry_after"] = self.retry_after
            out["errors"] = errors
        if self.hung:
            out["hung"] = True
        if self.lagging:
            out["lag"] = {"head": self.lag_head}
        return out

    def to_json(self) -> dict[str, object]:
        """Every field plus ``summary``: how the lab process tells the engine its faults."""
        out: dict[str, object] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            out[item.name] = dict(value) if isinstance(value, Mapping) else value
        out["summary"] = self.summary()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultState:
        """The inverse of ``to_json`` (``summary`` and unknown keys are ignored)."""
        known = {item.name for item in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for name in ("method_latency", "method_jitter"):
            values[name] = MappingProxyType(
                {str(k): float(v) for k, v in (values.get(name) or {}).items()}
            )
        return cls(**values)
