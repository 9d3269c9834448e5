"""JSON-RPC batches end to end: client -> reference gateway -> mock provider, real sockets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from conftest import small_scenario
from helpers.inprocess_rig import InProcessRig


@pytest.fixture
async def gateway_url() -> AsyncIterator[str]:
    lab = InProcessRig(small_scenario())
    await lab.start()
    yield lab.gateway_url
    await lab.stop()


async def post(url: str, body: str) -> tuple[int, str, str | None]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers={"Content-Type": "application/json"}) as response,
    ):
        return response.status, await response.text(), response.headers.get("X-Upstream")


async def test_a_batch_is_answered_member_by_member(gateway_url: str) -> None:
    status, text, upstream = await post(
        gateway_url,
        '[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},'
        '{"jsonrpc":"2.0","id":2,"method":"eth_nope","params":[]},'
        '{"jsonrpc":"2.0","id":3,"method":"net_version","params":[]}]',
    )
    assert status == 200 and upstream in ("alpha", "beta", "gamma")
    answers = {a["id"]: a for a in json.loads(text)}
    assert answers[1]["result"] == "0x1" and answers[3]["result"] == "1"
    assert answers[2]["error"]["code"] == -32601


async def test_batch_edge_cases_from_the_spec(gateway_url: str) -> None:
    status, text, _ = await post(gateway_url, "[]")
    assert json.loads(text)["error"]["code"] == -32600  # empty batch: one error object

    status, text, _ = await post(
        gateway_url, '[1, {"jsonrpc":"2.0","id":7,"method":"eth_chainId"}]'
    )
    answers = json.loads(text)
    assert any(a["id"] is None and a["error"]["code"] == -32600 for a in answers)
    assert any(a["id"] == 7 and a["result"] == "0x1" for a in answers)

    status, text, _ = await post(
        gateway_url,
        '[{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","method":"net_version"}]',
    )
    assert status in (200, 204) and text.strip() == ""  # notifications only: nothing back

    status, text, _ = await post(gateway_url, "[{bad json")
    assert json.loads(text)["error"]["code"] == -32700
