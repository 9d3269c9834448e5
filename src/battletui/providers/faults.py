"""What chaos is currently applied to a provider, as one immutable value for snapshots."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultState:
    """A provider's faults at one instant.

    ``killed`` is the current listening state (it follows the phase while flapping);
    ``added_latency`` / ``added_jitter`` are the degrade on top of the spec, in seconds.
    """

    killed: bool = False
    flapping: bool = False
    added_latency: float = 0.0
    added_jitter: float = 0.0
