"""Applies a fault to a mock provider and proves, over the socket, that it took effect.

An action that did not really happen raises ``ChaosError``; the session then shows it to the
operator and journals it as not applied, never as a silent pass.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from battletui.engine.lab import Lab
from battletui.engine.probes import connect_refused, probe_health
from battletui.providers import MockProvider
from battletui.scenario import Action

HOST = "127.0.0.1"
VERIFY_DEADLINE = 2.0
LATENCY_SLACK = 0.005
"""Timer and scheduling slack allowed when checking that added latency is really there."""


class ChaosError(RuntimeError):
    """The fault could not be applied or could not be verified."""


async def apply_fault(lab: Lab, action: Action, http: aiohttp.ClientSession) -> str:
    """Apply ``action`` to its provider and verify it; return what the check saw."""
    if action.kind == "mark":
        return "mark"
    if action.target is None or action.target not in lab.providers:
        raise ChaosError(f"unknown provider {action.target!r}")
    provider = lab.provider(action.target)
    if action.kind == "kill":
        await provider.kill()
        return await _verify_refused(provider, "kill")
    if action.kind == "flap":
        await provider.flap(
            float(action.params.get("down", 2.0)),
            float(action.params.get("up", 3.0)),
            int(action.params.get("cycles", 0)),
        )
        return await _verify_refused(provider, "flap")
    if action.kind == "restore":
        await provider.restore()
        return await _verify_answers(provider, http)
    if action.kind == "degrade":
        return await _degrade(provider, action, http)
    if action.kind == "ws-drop":
        return await _ws_drop(provider, http)
    raise ChaosError(f"unknown action {action.kind!r}")


async def _verify_refused(provider: MockProvider, what: str) -> str:
    deadline = time.monotonic() + VERIFY_DEADLINE
    while time.monotonic() < deadline:
        if await connect_refused(HOST, provider.port, timeout=0.5):
            return f"port {provider.port} refuses connections"
        await asyncio.sleep(0.02)
    raise ChaosError(f"{what} {provider.id}: port {provider.port} still accepts connections")


async def _verify_answers(provider: MockProvider, http: aiohttp.ClientSession) -> str:
    spec = provider.spec
    timeout = VERIFY_DEADLINE + spec.latency + spec.jitter
    result = await probe_health(http, provider.url, timeout=timeout)
    if result.outcome != "ok":
        raise ChaosError(f"restore {provider.id}: /health {result.outcome} {result.detail}".strip())
    return f"/health answered in {result.rtt * 1000:.0f}ms"


async def _ws_drop(provider: MockProvider, http: aiohttp.ClientSession) -> str:
    """Drop the provider's WebSockets; a probe subscription of our own must see the close."""
    if provider.faults.killed:
        raise ChaosError(f"ws-drop {provider.id}: it is down; restore it first")
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
    try:
        async with connect(provider.ws_url, open_timeout=VERIFY_DEADLINE) as probe:
            await probe.send(json.dumps(request))
            await asyncio.wait_for(probe.recv(), VERIFY_DEADLINE)
            closed = await provider.ws_drop()
            await asyncio.wait_for(probe.wait_closed(), VERIFY_DEADLINE)
            code = probe.close_code
    except (OSError, TimeoutError, WebSocketException) as error:
        raise ChaosError(f"ws-drop {provider.id}: probe subscription failed: {error}") from error
    if code != 1001:
        raise ChaosError(f"ws-drop {provider.id}: probe socket closed with {code}, not 1001")
    await _verify_answers(provider, http)
    return f"closed {max(0, closed - 1)} subscriber sockets (probe saw 1001); port still open"


async def _degrade(provider: MockProvider, action: Action, http: aiohttp.ClientSession) -> str:
    if provider.faults.killed:
        raise ChaosError(f"degrade {provider.id}: it is down; restore it first")
    latency = float(action.params.get("latency", 0.0))
    jitter = float(action.params.get("jitter", 0.0))
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
