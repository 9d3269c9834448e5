"""Small scenarios for real sessions (the rest of the harness is in ``helpers``)."""

from __future__ import annotations

from helpers.cli import REPO

from battletui.scenario import (
    GatewaySpec,
    HttpLoadSpec,
    ProviderSpec,
    Scenario,
    SloSpec,
    TimelineEntry,
    WorkloadSpec,
)
from battletui.scenario.model import BreakerSpec

__all__ = ["REPO", "small_scenario"]


def small_scenario(
    *,
    name: str = "test",
    duration: float = 30.0,
    rate: float = 50.0,
    timeline: tuple[TimelineEntry, ...] = (),
    slo: SloSpec | None = None,
    workers: int = 1,
) -> Scenario:
    """Three quick providers behind the gateway, breaker that opens after 3 failures;
    ``workers`` load-generator processes (one: the machine the tests run on has 2 cores)."""
    return Scenario(
        name=name,
        duration=duration,
        seed=5,
        providers=(
            ProviderSpec("alpha", latency=0.005),
            ProviderSpec("beta", latency=0.015),
            ProviderSpec("gamma", latency=0.030),
        ),
        gateway=GatewaySpec(
            strategy="fastest",
            breaker=BreakerSpec(failures=3, open_for=1.0, half_open_probes=1, successes=2),
        ),
        workload=WorkloadSpec(http=HttpLoadSpec(rate=rate, workers=workers)),
        slo=slo or SloSpec(success_rate=0.95),
        timeline=timeline,
    )
