"""Added latency, for every method or one: applied by the lab, checked by timing a real
answer."""

from __future__ import annotations

import aiohttp

from battletui.engine.chaos.handle import Endpoint, LabHandle, applied
from battletui.engine.chaos.rpc import LATENCY_SLACK, VERIFY_DEADLINE, ChaosError, rpc
from battletui.engine.probes import probe_health
from battletui.protocol.errors import describe_error
from battletui.scenario import Action


async def degrade(
    lab: LabHandle, provider: Endpoint, action: Action, http: aiohttp.ClientSession
) -> str:
    """The lab refuses a killed provider (409) and resolves ``relative`` steps; the check
    uses the absolute latency it reports."""
    detail = (await applied(lab, action)).detail
    latency = float(detail.get("latency", 0.0))
    jitter = float(detail.get("jitter", 0.0))
    method = str(detail.get("method") or "")
    spec = provider.spec
    floor = spec.latency - spec.jitter + latency - jitter - LATENCY_SLACK
    timeout = VERIFY_DEADLINE + spec.latency + spec.jitter + latency + jitter
    if method:
        return await _time_method(provider, method, latency, floor, timeout, http)
    result = await probe_health(http, provider.url, timeout=timeout)
    if result.outcome != "ok":
        raise ChaosError(f"degrade {provider.id}: /health {result.outcome} {result.detail}".strip())
    if result.rtt < floor:
        raise ChaosError(
            f"degrade {provider.id}: answered in {result.rtt * 1000:.0f}ms,"
            f" expected at least {floor * 1000:.0f}ms"
        )
    return f"now +{latency * 1000:.0f}ms; /health answered in {result.rtt * 1000:.0f}ms"


async def _time_method(
    provider: Endpoint,
    method: str,
    latency: float,
    floor: float,
    timeout: float,
    http: aiohttp.ClientSession,
) -> str:
    try:
        _, _, elapsed, _ = await rpc(http, provider.url, method, timeout=timeout)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ChaosError(
            f"degrade {provider.id} {method}: probe failed: {describe_error(error)}"
        ) from error
    if elapsed < floor:
        raise ChaosError(
            f"degrade {provider.id} {method}: answered in {elapsed * 1000:.0f}ms,"
            f" expected at least {floor * 1000:.0f}ms"
        )
    return f"{method} now +{latency * 1000:.0f}ms; answered in {elapsed * 1000:.0f}ms"
