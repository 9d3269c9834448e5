"""Added latency, for every method or one: checked by timing a real answer."""

from __future__ import annotations

import aiohttp

from battletui.engine.chaos.rpc import LATENCY_SLACK, VERIFY_DEADLINE, ChaosError, rpc
from battletui.engine.probes import probe_health
from battletui.providers import MockProvider
from battletui.scenario import Action


async def degrade(provider: MockProvider, action: Action, http: aiohttp.ClientSession) -> str:
    if provider.faults.killed:
        raise ChaosError(f"degrade {provider.id}: it is down; restore it first")
    latency = float(action.params.get("latency", 0.0))
    jitter = float(action.params.get("jitter", 0.0))
    method = str(action.params.get("method") or "")
    if method:
        return await degrade_method(provider, method, latency, jitter, action, http)
    if action.params.get("relative"):
        latency += provider.faults.added_latency
        jitter += provider.faults.added_jitter
    await provider.degrade(latency, jitter)
    spec = provider.spec
    floor = spec.latency - spec.jitter + latency - jitter - LATENCY_SLACK
    timeout = VERIFY_DEADLINE + spec.latency + spec.jitter + latency + jitter
    result = await probe_health(http, provider.url, timeout=timeout)
    if result.outcome != "ok":
        raise ChaosError(f"degrade {provider.id}: /health {result.outcome} {result.detail}".strip())
    if result.rtt < floor:
        raise ChaosError(
            f"degrade {provider.id}: answered in {result.rtt * 1000:.0f}ms,"
            f" expected at least {floor * 1000:.0f}ms"
        )
    return f"now +{latency * 1000:.0f}ms; /health answered in {result.rtt * 1000:.0f}ms"


async def degrade_method(
    provider: MockProvider,
    method: str,
    latency: float,
    jitter: float,
    action: Action,
    http: aiohttp.ClientSession,
) -> str:
    if action.params.get("relative"):
        latency += provider.faults.method_latency.get(method, 0.0)
    await provider.degrade(latency, jitter, method=method)
    spec = provider.spec
    floor = spec.latency - spec.jitter + latency - jitter - LATENCY_SLACK
    timeout = VERIFY_DEADLINE + spec.latency + spec.jitter + latency + jitter
    try:
        _, _, elapsed, _ = await rpc(http, provider.url, method, timeout=timeout)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ChaosError(f"degrade {provider.id} {method}: probe failed: {error}") from error
    if elapsed < floor:
        raise ChaosError(
            f"degrade {provider.id} {method}: answered in {elapsed * 1000:.0f}ms,"
            f" expected at least {floor * 1000:.0f}ms"
        )
    return f"{method} now +{latency * 1000:.0f}ms; answered in {elapsed * 1000:.0f}ms"
