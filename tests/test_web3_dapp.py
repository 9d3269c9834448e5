"""A dapp's and a wallet's start-up with web3.py, unmodified, against a mock provider and the
reference gateway, over HTTP and WebSocket: every state, transaction and filter method."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest
from conftest import small_scenario
from eth_account import Account
from helpers.inprocess_rig import InProcessRig
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.providers.persistent import WebSocketProvider
from web3.types import TxData

from battletui.chain.accounts import DEV_MNEMONIC, dev_accounts
from battletui.chain.tokens import MULTICALL3, TOKENS, TRANSFER_TOPIC
from battletui.scenario import ChainSpec

ERC20 = [
    {"name": n, "type": "function", "stateMutability": "view", "inputs": i, "outputs": o}
    for n, i, o in [
        ("balanceOf", [{"name": "a", "type": "address"}], [{"type": "uint256"}]),
        ("decimals", [], [{"type": "uint8"}]),
        ("symbol", [], [{"type": "string"}]),
        ("name", [], [{"type": "string"}]),
        ("totalSupply", [], [{"type": "uint256"}]),
        (
            "allowance",
            [{"name": "o", "type": "address"}, {"name": "s", "type": "address"}],
            [{"type": "uint256"}],
        ),
    ]
] + [
    {
        "name": "transfer",
        "type": "function",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "v", "type": "uint256"}],
        "outputs": [{"type": "bool"}],
    },
    {
        "anonymous": False,
        "name": "Transfer",
        "type": "event",
        "inputs": [
            {"indexed": True, "name": "from", "type": "address"},
            {"indexed": True, "name": "to", "type": "address"},
            {"indexed": False, "name": "value", "type": "uint256"},
        ],
    },
]
CALL3 = [
    {"name": "target", "type": "address"},
    {"name": "allowFailure", "type": "bool"},
    {"name": "callData", "type": "bytes"},
]
RESULT = [{"name": "success", "type": "bool"}, {"name": "returnData", "type": "bytes"}]
MULTICALL_ABI = [
    {
        "name": "aggregate3",
        "type": "function",
        "stateMutability": "payable",
        "inputs": [{"name": "calls", "type": "tuple[]", "components": CALL3}],
        "outputs": [{"name": "returnData", "type": "tuple[]", "components": RESULT}],
    }
]
BLOCK_TIME = 0.25
DEADLINE = 15.0


@pytest.fixture
async def lab() -> AsyncIterator[InProcessRig]:
    scenario = dataclasses.replace(
        small_scenario(), chain=ChainSpec(id=31337, block_time=BLOCK_TIME)
    )
    rig = InProcessRig(scenario)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


def _url(lab: InProcessRig, where: str, transport: str) -> str:
    assert lab.gateway is not None
    base = lab.gateway.url if where == "gateway" else lab.providers["alpha"].url
    return base.replace("http://", "ws://") if transport == "ws" else base


async def _connect(url: str) -> AsyncWeb3[Any]:
    if url.startswith("ws"):
        connected: AsyncWeb3[Any] = await AsyncWeb3(WebSocketProvider(url))
        return connected
    return AsyncWeb3(AsyncWeb3.AsyncHTTPProvider(url))


async def _eventually(what: str, check: Any) -> Any:
    deadline = time.monotonic() + DEADLINE
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(BLOCK_TIME / 2)


def test_dev_accounts_are_the_well_known_ones() -> None:
    Account.enable_unaudited_hdwallet_features()
    first = Account.from_mnemonic(DEV_MNEMONIC)
    assert dev_accounts()[0].address == first.address.lower()
    assert first.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's, hardhat's


@pytest.mark.parametrize("where", ["provider", "gateway"])
@pytest.mark.parametrize("transport", ["http", "ws"])
async def test_a_dapp_starts_and_transacts(lab: InProcessRig, where: str, transport: str) -> None:
    w3 = await _connect(_url(lab, where, transport))
    me, you = (Account.from_key(a.key) for a in dev_accounts()[:2])
    token = w3.eth.contract(address=w3.to_checksum_address(TOKENS[0].address), abi=ERC20)
    try:
        assert await w3.eth.chain_id == 31337
        head = await w3.eth.block_number
        block = await w3.eth.get_block(head, full_transactions=True)
        # web3 types the list as hashes or transactions; with full_transactions it is the latter
        transactions = cast("Sequence[TxData]", block["transactions"])
        assert block["number"] == head and all(tx["blockNumber"] == head for tx in transactions)
        assert await w3.eth.get_balance(me.address) > 0
        nonce = await w3.eth.get_transaction_count(me.address)
        assert await w3.eth.get_transaction_count(me.address, "pending") == nonce
        assert len(await w3.eth.get_code(token.address)) > 2
        assert await w3.eth.get_code(me.address) == b""
        assert await w3.eth.gas_price > await w3.eth.max_priority_fee > 0
        history = await w3.eth.fee_history(4, "latest", [10, 90])
        assert len(history["baseFeePerGas"]) == 5 and len(history["reward"]) == 4

        assert await token.functions.symbol().call() == TOKENS[0].symbol
        assert await token.functions.decimals().call() == TOKENS[0].decimals
        assert await token.functions.name().call() == TOKENS[0].name
        supply = await token.functions.totalSupply().call()
        mine = await token.functions.balanceOf(me.address).call()
        assert 0 < mine < supply
        assert await token.functions.allowance(me.address, you.address).call() == 0
        multicall = w3.eth.contract(address=w3.to_checksum_address(MULTICALL3), abi=MULTICALL_ABI)
        calls = [
            (token.address, False, token.encode_abi("balanceOf", [me.address])),
            (token.address, True, "0xdeadbeef"),
        ]
        (ok, raw), (failed, _) = await multicall.functions.aggregate3(calls).call()
        assert ok and int.from_bytes(raw, "big") == mine and not failed

        with pytest.raises(ContractLogicError, match="exceeds balance"):
            await token.functions.transfer(me.address, supply + 1).estimate_gas(
                {"from": you.address}
            )

        before = await token.functions.balanceOf(you.address).call()
        tx = await token.functions.transfer(you.address, 4242).build_transaction(
            {"from": me.address, "nonce": nonce, "chainId": 31337}
        )
        signed = me.sign_transaction(tx)
        tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
        with pytest.raises(Web3RPCError, match=r"already known|nonce too low"):
            await w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = await w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=DEADLINE, poll_latency=0.1
        )
        assert receipt["status"] == 1 and receipt["from"] == me.address
        (event,) = token.events.Transfer().process_receipt(receipt)
        assert event["args"]["to"] == you.address and event["args"]["value"] == 4242
        found = await w3.eth.get_transaction(tx_hash)
        assert found["blockNumber"] == receipt["blockNumber"] and found["nonce"] == nonce
        receipts = await w3.eth.get_block_receipts(receipt["blockNumber"])
        assert tx_hash in [r["transactionHash"] for r in receipts]
        await _eventually(
            "the balance to show the transfer",
            lambda: _equals(token.functions.balanceOf(you.address).call(), before + 4242),
        )
        assert await w3.eth.get_transaction_count(me.address) == nonce + 1
    finally:
        await w3.provider.disconnect()


async def _equals(pending: Any, expected: object) -> bool:
    return bool(await pending == expected)


@pytest.mark.parametrize("where", ["provider", "gateway"])
async def test_filters_over_http(lab: InProcessRig, where: str) -> None:
    w3 = await _connect(_url(lab, where, "http"))
    try:
        await _filters(w3)
    finally:
        await w3.provider.disconnect()


async def _filters(w3: AsyncWeb3[Any]) -> None:
    logs = await w3.eth.filter({"address": w3.to_checksum_address(TOKENS[0].address)})
    blocks = await w3.eth.filter("latest")
    pending = await w3.eth.filter("pending")
    me, you = (Account.from_key(a.key) for a in dev_accounts()[2:4])
    signed = me.sign_transaction(
        {
            "to": you.address,
            "value": 10**15,
            "gas": 21_000,
            "maxFeePerGas": 10**11,
            "maxPriorityFeePerGas": 10**9,
            "nonce": await w3.eth.get_transaction_count(me.address, "pending"),
            "chainId": 31337,
        }
    )
    tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
    # web3 types every filter's entries as logs; a pending-transaction filter's are hashes
    pending_hashes = cast("list[HexBytes]", await pending.get_new_entries())
    assert tx_hash in pending_hashes
    new_blocks = await _eventually("new blocks", blocks.get_new_entries)
    assert all(len(h) == 32 for h in new_blocks)
    token_logs = await _eventually("token logs", logs.get_new_entries)
    assert all(log["address"].lower() == TOKENS[0].address for log in token_logs)
    assert logs.filter_id is not None and blocks.filter_id is not None
    assert await w3.eth.get_filter_logs(logs.filter_id) is not None
    assert await w3.eth.uninstall_filter(blocks.filter_id) is True
    with pytest.raises(Web3RPCError, match="filter not found"):
        await w3.eth.get_filter_changes(blocks.filter_id)


@pytest.mark.parametrize("where", ["provider", "gateway"])
async def test_log_subscriptions_over_websocket(lab: InProcessRig, where: str) -> None:
    w3 = await _connect(_url(lab, where, "ws"))
    try:
        await w3.eth.subscribe("logs", {"topics": [TRANSFER_TOPIC]})
        seen = []
        async with asyncio.timeout(DEADLINE):
            async for message in w3.socket.process_subscriptions():
                seen.append(message["result"])
                if len(seen) >= 3:
                    break
        assert all(log["topics"][0].hex() in (TRANSFER_TOPIC[2:], TRANSFER_TOPIC) for log in seen)
        numbers = [log["blockNumber"] for log in seen]
        assert numbers == sorted(numbers)
    finally:
        await w3.provider.disconnect()


async def test_pending_transactions_subscription(lab: InProcessRig) -> None:
    w3 = await _connect(_url(lab, "provider", "ws"))
    sender = Account.from_key(dev_accounts()[5].key)
    try:
        await w3.eth.subscribe("newPendingTransactions")
        signed = sender.sign_transaction(
            {
                "to": sender.address,
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 10**11,
                "maxPriorityFeePerGas": 10**9,
                "nonce": 0,
                "chainId": 31337,
            }
        )
        tx_hash = await w3.eth.send_raw_transaction(signed.raw_transaction)
        async with asyncio.timeout(DEADLINE):
            async for message in w3.socket.process_subscriptions():
                assert message["result"] == tx_hash
                break
    finally:
        await w3.provider.disconnect()
