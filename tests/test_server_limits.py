"""The servers under clients that hold on: a slowloris, an idle socket, a thousand
subscriptions on one WebSocket. Each is bounded (the slow consumer's 1008 close is in
tests/test_gateway_ws.py and tests/test_providers_ws.py)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from aiohttp import web
from conftest import small_scenario
from helpers.inprocess_rig import InProcessRig

from battletui.chain import MockChain
from battletui.gateway import ws_endpoint
from battletui.providers import MockProvider, ws_app
from battletui.scenario import ProviderSpec
from battletui.wire import FastPostServer, PostReply


async def closed_within(port: int, send: bytes, timeout: float) -> float:
    """Connect, send ``send`` (a request cut short, or nothing), and return how long the
    server took to close the connection; fails after ``timeout`` (the bound, not a claim
    of speed: the callers check only that it was not closed before its timeout)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(send)
    await writer.drain()
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(1024):
                pass
    except TimeoutError:
        pytest.fail(f"still open after {timeout}s")
    finally:
        writer.close()
    return time.monotonic() - started


SLOWLORIS = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl"
"""Headers that never end."""


async def test_the_gateway_front_closes_a_slowloris_and_an_idle_socket() -> None:
    async def handler(body: bytes) -> PostReply:
        return 200, b'{"jsonrpc":"2.0","id":1,"result":"0x1"}', []

    runner = web.AppRunner(web.Application(), keepalive_timeout=0.3)
    await runner.setup()
    assert runner.server is not None
    front = FastPostServer(handler, runner.server, idle_timeout=0.4, header_timeout=0.3)
    port = await front.start("127.0.0.1", 0)
    try:
        assert await closed_within(port, SLOWLORIS, timeout=5) > 0.25
        assert await closed_within(port, b"", timeout=5) > 0.35
        # a request whose headers arrive in time is answered as ever
        url = f"http://127.0.0.1:{port}/"
        async with aiohttp.ClientSession() as http, http.post(url, data=b"{}") as response:
            assert (await response.json())["result"] == "0x1"
    finally:
        await front.close()
        await runner.cleanup()


async def test_a_provider_closes_a_slowloris_and_an_idle_socket() -> None:
    chain = MockChain(3, chain_id=5, block_time=1.0)
    provider = MockProvider(ProviderSpec("alpha", latency=0.0), chain, idle_timeout=0.3)
    await provider.start()
    try:
        port = int(provider.url.rsplit(":", 1)[1])
        partial = SLOWLORIS.replace(b"POST / ", b"GET /health ")
        assert await closed_within(port, partial, timeout=5) > 0.25
        assert await closed_within(port, b"", timeout=5) > 0.25
    finally:
        await provider.stop()


async def subscribe_all(url: str, count: int) -> list[dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
        answers = []
        for n in range(count):
            await socket.send_str(
                json.dumps(
                    {"jsonrpc": "2.0", "id": n, "method": "eth_subscribe", "params": ["newHeads"]}
                )
            )
            while True:
                message = json.loads((await socket.receive()).data)
                if message.get("id") == n:
                    answers.append(message)
                    break
        return answers


async def test_a_provider_socket_holds_at_most_100_subscriptions() -> None:
    chain = MockChain(3, chain_id=5, block_time=1.0)
    provider = MockProvider(ProviderSpec("alpha", latency=0.0), chain)
    await provider.start()
    try:
        answers = await subscribe_all(provider.ws_url, ws_app.MAX_SUBSCRIPTIONS + 1)
    finally:
        await provider.stop()
    assert all("result" in a for a in answers[:-1])
    assert answers[-1]["error"] == {
        "code": -32000,
        "message": "too many subscriptions on this connection (at most 100)",
    }


async def test_a_gateway_socket_holds_at_most_100_subscriptions() -> None:
    lab = InProcessRig(small_scenario())
    await lab.start()
    try:
        answers = await subscribe_all(lab.gateway_ws_url, ws_endpoint.MAX_SUBSCRIPTIONS + 1)
    finally:
        await lab.stop()
    assert all("result" in a for a in answers[:-1]), answers[-2]
    assert answers[-1]["error"] == {
        "code": -32000,
        "message": "too many subscriptions on this connection (at most 100)",
    }
