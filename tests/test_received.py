"""What each mock provider received, counted at the provider over real sockets: HTTP single
and batch, WebSocket frames, requests answered with injected errors or held by a hang; never
a connection refused while killed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from helpers.waiting import wait_until
from websockets.asyncio.client import connect

from battletui.chain import MockChain
from battletui.providers import MockProvider
from battletui.providers.received import INVALID
from battletui.scenario import ProviderSpec


def call(method: str, request_id: int = 1) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": []}


@pytest.fixture
async def provider() -> AsyncIterator[MockProvider]:
    chain = MockChain(3, chain_id=5, block_time=0.2)
    provider = MockProvider(ProviderSpec("alpha", latency=0.001), chain, seed=3)
    await provider.start()
    try:
        yield provider
    finally:
        await provider.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: object) -> int:
    async with http.post(url, data=json.dumps(body)) as response:
        await response.read()
        return response.status


async def test_http_single_and_batch_members_are_counted_per_method(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    assert provider.received == {}
    await post(http, provider.url, call("eth_blockNumber"))
    await post(http, provider.url, call("eth_chainId"))
    batch = [call("eth_blockNumber", 1), call("eth_blockNumber", 2), call("net_version", 3)]
    await post(http, provider.url, batch)
    async with http.post(provider.url, data=b"{not json") as response:
        assert response.status == 200  # a parse error answered, and received all the same
    assert provider.received == {
        "eth_blockNumber": 3,
        "eth_chainId": 1,
        "net_version": 1,
        INVALID: 1,
    }
    assert provider.received_by_transport == {"http": 6, "ws": 0}


async def test_health_checks_are_not_json_rpc_requests(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    async with http.get(provider.url + "/health") as response:
        assert response.status == 200
    assert provider.received == {}


async def test_websocket_frames_are_counted_with_their_members(provider: MockProvider) -> None:
    async with connect(provider.ws_url) as ws:
        await ws.send(json.dumps(call("eth_subscribe") | {"params": ["newHeads"]}))
        await ws.recv()
        await ws.send(json.dumps([call("eth_blockNumber", 2), call("eth_chainId", 3)]))
        await ws.recv()
    assert provider.received == {"eth_subscribe": 1, "eth_blockNumber": 1, "eth_chainId": 1}
    assert provider.received_by_transport == {"http": 0, "ws": 3}


async def test_requests_failed_by_injected_errors_were_still_received(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await provider.errors(1.0, "server-error")
    statuses = [await post(http, provider.url, call("eth_blockNumber")) for _ in range(5)]
    assert statuses == [503] * 5
    async with connect(provider.ws_url) as ws:
        await ws.send(json.dumps(call("eth_chainId")))
        answer = json.loads(await ws.recv())
        assert "error" in answer
    assert provider.received == {"eth_blockNumber": 5, "eth_chainId": 1}


async def test_a_request_held_by_a_hang_was_received(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await provider.hang()
    pending = asyncio.create_task(post(http, provider.url, call("eth_getBlockByNumber")))
    await wait_until(
        lambda: provider.received.get("eth_getBlockByNumber") == 1, what="the hung request"
    )
    assert not pending.done()
    await provider.restore()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(pending, 5.0)  # reset by the restore, never answered


async def test_connections_refused_while_killed_are_not_received(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await post(http, provider.url, call("eth_blockNumber"))
    await provider.kill()
    for _ in range(3):
        with pytest.raises(aiohttp.ClientConnectionError):
            await post(http, provider.url, call("eth_blockNumber"))
    await provider.restore()
    await post(http, provider.url, call("eth_blockNumber"))
    assert provider.received == {"eth_blockNumber": 2}
