"""Live changes to the gateway under test, checked through its own /health endpoint."""

from __future__ import annotations

import aiohttp

from battletui.engine.chaos.rpc import VERIFY_DEADLINE, ChaosError
from battletui.engine.lab import Lab


async def strategy(lab: Lab, name: str, http: aiohttp.ClientSession) -> str:
    gateway = lab.gateway
    if gateway is None:
        raise ChaosError("strategy: the gateway is not running")
    try:
        gateway.set_strategy(name)
    except ValueError as error:
        raise ChaosError(f"strategy: {error}") from error
    async with http.get(
        gateway.url + "/health", timeout=aiohttp.ClientTimeout(total=VERIFY_DEADLINE)
    ) as response:
        health = await response.json()
    if health.get("strategy") != name:
        raise ChaosError(f"strategy: the gateway reports {health.get('strategy')!r}")
    return f"gateway /health reports strategy {name}"
