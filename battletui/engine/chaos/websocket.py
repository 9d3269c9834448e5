"""Dropping WebSocket subscribers: a probe subscription of our own must see the close."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from battletui.engine.chaos.availability import verify_answers
from battletui.engine.chaos.handle import Endpoint, LabHandle, applied
from battletui.engine.chaos.rpc import VERIFY_DEADLINE, ChaosError
from battletui.engine.lab_client import LabRequestError
from battletui.protocol.errors import describe_error
from battletui.scenario import Action

DOWN = "it is down; restore it first"


async def ws_drop(
    lab: LabHandle, provider: Endpoint, action: Action, http: aiohttp.ClientSession
) -> str:
    """Subscribe a probe, have the lab drop the provider's WebSockets, see the probe get
    1001 (going away) while the port stays open."""
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
    try:
        async with connect(provider.ws_url, open_timeout=VERIFY_DEADLINE) as probe:
            await probe.send(json.dumps(request))
            await asyncio.wait_for(probe.recv(), VERIFY_DEADLINE)
            closed = int((await applied(lab, action)).detail.get("closed", 0))
            await asyncio.wait_for(probe.wait_closed(), VERIFY_DEADLINE)
            code = probe.close_code
    except (OSError, TimeoutError, WebSocketException) as error:
        if await _is_down(lab, provider):
            raise ChaosError(f"ws-drop {provider.id}: {DOWN}") from error
        raise ChaosError(
            f"ws-drop {provider.id}: probe subscription failed: {describe_error(error)}"
        ) from error
    if code != 1001:
        raise ChaosError(f"ws-drop {provider.id}: probe socket closed with {code}, not 1001")
    await verify_answers(provider, http, "ws-drop")
    return f"closed {max(0, closed - 1)} subscriber sockets (probe saw 1001); port still open"


async def _is_down(lab: LabHandle, provider: Endpoint) -> bool:
    """Why could the probe not subscribe? The lab knows whether the provider is killed."""
    try:
        state = await lab.client.state()
    except LabRequestError:
        return False
    found = state.providers.get(provider.id)
    return found is not None and found.faults.killed
