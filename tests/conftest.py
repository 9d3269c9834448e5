"""Shared helpers: bounded waiting on conditions, small scenarios for real sessions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

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

REPO = Path(__file__).resolve().parent.parent


async def wait_until(
    condition: Callable[[], bool], *, timeout: float = 5.0, interval: float = 0.02, what: str = ""
) -> None:
    """Poll ``condition`` until it holds; fail the test with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)


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
