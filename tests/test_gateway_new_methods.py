"""Every state, transaction and filter method through the reference gateway while a provider
is killed, erroring, hung or slow: the dapp still gets the right answer from another one."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from conftest import small_scenario
from eth_abi.abi import encode
from eth_account import Account
from helpers.inprocess_rig import InProcessRig

from battletui.chain.accounts import dev_accounts
from battletui.chain.tokens import BALANCE_OF, TOKENS, TRANSFER
from battletui.scenario import ChainSpec, GatewaySpec

ME = dev_accounts()[0].address
YOU = dev_accounts()[1].address
TOKEN = TOKENS[0].address


@pytest.fixture
async def lab() -> AsyncIterator[InProcessRig]:
    base = small_scenario()
    scenario = dataclasses.replace(
        base,
        chain=ChainSpec(id=1, block_time=0.5),
        gateway=GatewaySpec(strategy="fastest", attempt_timeout=0.3, timeout=2.0),
    )
    rig = InProcessRig(scenario)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


def _calls(lab: InProcessRig) -> dict[str, list[Any]]:
    head = lab.chain.head_number()
    block = next(
        b
        for n in range(head, head - 30, -1)
        if (b := lab.chain.block(n)) and b.body and b.body.transactions
    )
    assert block.body is not None
    tx_hash = block.body.transactions[0].hash
    balance_of = "0x" + (BALANCE_OF + encode(["address"], [ME])).hex()
    transfer = "0x" + (TRANSFER + encode(["address", "uint256"], [YOU, 1])).hex()
    return {
        "eth_getBalance": [ME, hex(block.number)],
        "eth_getTransactionCount": [ME, hex(block.number)],
        "eth_getCode": [TOKEN, hex(block.number)],
        "eth_call": [{"to": TOKEN, "data": balance_of}, hex(block.number)],
        "eth_estimateGas": [{"from": ME, "to": TOKEN, "data": transfer}],
        "eth_gasPrice": [],
        "eth_maxPriorityFeePerGas": [],
        "eth_feeHistory": ["0x4", hex(block.number), [50]],
        "eth_getTransactionByHash": [tx_hash],
        "eth_getTransactionReceipt": [tx_hash],
        "eth_getBlockReceipts": [hex(block.number)],
        "eth_getBlockByNumber": [hex(block.number), True],
        "eth_newBlockFilter": [],
    }


async def _rpc(url: str, method: str, params: list[Any]) -> tuple[Any, str | None, float]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        answer = await response.json()
        upstream = response.headers.get("X-Upstream")
    assert "result" in answer, (method, answer)
    return answer["result"], upstream, time.monotonic() - started


#: Answers that follow the head (or are fresh ids), so two reads need not agree.
MOVING = ("eth_newBlockFilter", "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_estimateGas")

Fault = Callable[[Any], Awaitable[None]]
FAULTS: dict[str, Fault] = {
    "kill": lambda p: p.kill(),
    "errors": lambda p: p.errors(1.0, "server-error"),
    "rpc-errors": lambda p: p.errors(1.0, "rpc-error", code=-32000),
    "hang": lambda p: p.hang(),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_every_new_method_survives_a_fault_on_the_fastest_provider(
    lab: InProcessRig, fault: str
) -> None:
    assert lab.gateway is not None
    url = lab.gateway.url
    calls = _calls(lab)
    expected = {m: (await _rpc(lab.providers["beta"].url, m, p))[0] for m, p in calls.items()}
    await FAULTS[fault](lab.providers["alpha"])
    for method, params in calls.items():
        result, upstream, _ = await _rpc(url, method, params)
        assert upstream != "alpha", (method, upstream)
        if method not in MOVING:
            assert result == expected[method], method


async def test_a_method_degraded_on_one_provider_goes_to_another(lab: InProcessRig) -> None:
    assert lab.gateway is not None
    url = lab.gateway.url
    calls = _calls(lab)
    for method in ("eth_call", "eth_getBlockReceipts", "eth_estimateGas"):
        await lab.providers["alpha"].degrade(0.4, method=method)
    deadline = time.monotonic() + 15
    moved = False
    while not moved and time.monotonic() < deadline:  # the gateway learns per-method latency
        served = [(await _rpc(url, "eth_call", calls["eth_call"]))[1] for _ in range(5)]
        moved = served[-1] != "alpha"
    assert moved, "eth_call still sent to the provider that is slow at it"
    _, upstream, _ = await _rpc(url, "eth_getBalance", calls["eth_getBalance"])
    assert upstream == "alpha", "only the degraded methods move"


async def test_a_transaction_sent_while_a_provider_is_killed_is_mined(lab: InProcessRig) -> None:
    assert lab.gateway is not None
    url = lab.gateway.url
    await lab.providers["alpha"].kill()
    me = Account.from_key(dev_accounts()[7].key)
    nonce, _, _ = await _rpc(url, "eth_getTransactionCount", [me.address, "pending"])
    signed = me.sign_transaction(
        {
            "to": Account.from_key(dev_accounts()[8].key).address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
            "nonce": int(nonce, 16),
            "chainId": 1,
        }
    )
    tx_hash, upstream, _ = await _rpc(
        url, "eth_sendRawTransaction", ["0x" + signed.raw_transaction.hex()]
    )
    assert upstream != "alpha"
    deadline = time.monotonic() + 10
    receipt = None
    while receipt is None and time.monotonic() < deadline:
        receipt, _, _ = await _rpc(url, "eth_getTransactionReceipt", [tx_hash])
    assert receipt is not None and receipt["status"] == "0x1"


async def test_a_filter_stays_with_its_provider_and_is_lost_with_it(lab: InProcessRig) -> None:
    assert lab.gateway is not None
    url = lab.gateway.url
    fid, creator, _ = await _rpc(url, "eth_newBlockFilter", [])
    for _ in range(5):
        _, upstream, _ = await _rpc(url, "eth_getFilterChanges", [fid])
        assert upstream == creator, "pinned to the upstream that made it"
    await lab.providers[str(creator)].kill()
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getFilterChanges", "params": [fid]}
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        answer = await response.json()
    assert answer["error"] == {"code": -32000, "message": "filter not found"}
    fresh, again, _ = await _rpc(url, "eth_newBlockFilter", [])
    assert again != creator and fresh != fid
