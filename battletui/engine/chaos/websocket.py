"""Dropping WebSocket subscribers: a probe subscription of our own must see the close."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from battletui.engine.chaos.availability import verify_answers
from battletui.engine.chaos.rpc import VERIFY_DEADLINE, ChaosError
from battletui.providers import MockProvider


async def ws_drop(provider: MockProvider, http: aiohttp.ClientSession) -> str:
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
    await verify_answers(provider, http)
    return f"closed {max(0, closed - 1)} subscriber sockets (probe saw 1001); port still open"
