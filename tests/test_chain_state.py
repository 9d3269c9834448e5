"""The mock chain's bodies, state and pool: real signed transactions, receipts that add up,
balances that follow them, geth's rejections, and reorgs that rebuild it all."""

from __future__ import annotations

import itertools
import re

import pytest
from eth_account import Account
from eth_bloom.bloom import BloomFilter
from eth_utils.crypto import keccak

from battletui.chain import MockChain
from battletui.chain.accounts import DEV_BALANCE, activity_accounts, dev_accounts
from battletui.chain.bloom import log_items
from battletui.chain.hexutil import data
from battletui.chain.ledger import STATE_WINDOW, MissingState, TxRejected
from battletui.chain.tokens import TOKENS
from battletui.chain.transactions import decode_raw

FIRST = 1000
CHAIN_ID = 31337


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(seed: int = 3) -> tuple[MockChain, Clock]:
    clock = Clock()
    return MockChain(seed, chain_id=CHAIN_ID, block_time=1.0, clock=clock, first_block=FIRST), clock


def transfer(key: bytes, nonce: int, to: str, value: int = 10**15, **extra: object) -> bytes:
    tx = {
        "to": _checksum(to),
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 10**11,
        "maxPriorityFeePerGas": 10**9,
        "nonce": nonce,
        "chainId": CHAIN_ID,
        **extra,
    }
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


def test_background_transactions_are_real_signed_transactions() -> None:
    chain, clock = make()
    clock.now = 40
    senders = {a.address for a in activity_accounts(3, CHAIN_ID)}
    seen = 0
    for number in range(FIRST - 20, FIRST + 40):
        block = chain.block(number)
        assert block is not None and block.body is not None
        for tx in block.body.transactions:
            assert data(keccak(tx.raw)) == tx.hash
            assert Account.recover_transaction(tx.raw).lower() == tx.sender in senders
            assert decode_raw(tx.raw) == tx
            seen += 1
    assert seen > 30


def test_activity_nonces_run_on_without_gaps_across_blocks() -> None:
    chain, clock = make()
    clock.now = 60
    last: dict[str, int] = {}
    for number in range(FIRST - 60, FIRST + 60):
        block = chain.block(number)
        assert block is not None and block.body is not None
        for tx in block.body.transactions:
            if tx.sender in last:
                assert tx.nonce == last[tx.sender] + 1
            last[tx.sender] = tx.nonce
    state = chain.ledger.state_at(FIRST + 60)
    assert all(state.nonce(sender) == nonce + 1 for sender, nonce in last.items())


def test_receipts_logs_and_bloom_add_up() -> None:
    chain, clock = make()
    clock.now = 30
    for number in range(FIRST, FIRST + 30):
        block = chain.block(number)
        assert block is not None and block.body is not None
        body = block.body
        cumulative = [r.cumulative_gas_used for r in body.receipts]
        assert cumulative == sorted(cumulative) and body.gas_used == (cumulative or [0])[-1]
        assert [log.log_index for log in body.logs] == list(range(len(body.logs)))
        bloom = BloomFilter()
        for log in body.logs:
            for item in log_items(log.address, log.topics):
                bloom.add(item)
        assert block.to_json()["logsBloom"] == data(int(bloom).to_bytes(256, "big"))
        for index, receipt in enumerate(body.receipts):
            assert receipt.where.index == index and receipt.where.block_hash == block.hash
            assert all(log.transaction_hash == receipt.transaction.hash for log in receipt.logs)


def test_base_fee_moves_like_eip_1559() -> None:
    chain, _ = make()
    fees = [chain.base_fee_of(n) for n in range(FIRST - 500, FIRST + 500)]
    assert all(abs(b - a) / a <= 0.125 for a, b in itertools.pairwise(fees))
    assert min(fees) > 10**9 and len(set(fees)) > 100


def test_a_sent_transaction_goes_into_the_next_block_and_moves_the_balances() -> None:
    chain, clock = make()
    me, you = dev_accounts()[0], dev_accounts()[1]
    raw = transfer(me.key, 0, you.address, 10**18)
    tx = chain.ledger.submit(raw)
    assert chain.ledger.pending() == [tx]
    assert chain.ledger.pending_nonce(me.address, FIRST) == 1
    clock.now = 1.0
    block = chain.block(FIRST + 1)
    assert block is not None and block.body is not None
    (receipt,) = [r for r in block.body.receipts if r.transaction.hash == tx.hash]
    assert receipt.status == 1 and receipt.gas_used == 21_000
    state = chain.ledger.state_at(FIRST + 1)
    fee = 21_000 * receipt.where.gas_price
    assert state.balance(me.address) == DEV_BALANCE - 10**18 - fee
    assert state.balance(you.address) == DEV_BALANCE + 10**18
    assert state.nonce(me.address) == 1 and chain.ledger.pending() == []


def test_a_reverting_token_transfer_is_mined_with_status_zero() -> None:
    chain, clock = make()
    poor = Account.create()
    me = dev_accounts()[0]
    chain.ledger.submit(transfer(me.key, 0, poor.address, 10**18))  # ether, but no tokens
    clock.now = 1.0
    token = TOKENS[0].address
    payload = "0xa9059cbb" + me.address[2:].rjust(64, "0") + hex(5)[2:].rjust(64, "0")
    raw = transfer(bytes(poor.key), 0, _checksum(token), 0, data=payload, gas=80_000)
    tx = chain.ledger.submit(raw)
    clock.now = 2.0
    block = chain.block(FIRST + 2)
    assert block is not None and block.body is not None
    (receipt,) = [r for r in block.body.receipts if r.transaction.hash == tx.hash]
    assert receipt.status == 0 and receipt.logs == ()
    state = chain.ledger.state_at(FIRST + 2)
    assert state.token_balance(token, poor.address.lower()) == 0
    assert state.nonce(poor.address.lower()) == 1
    assert (
        state.balance(poor.address.lower()) == 10**18 - receipt.gas_used * receipt.where.gas_price
    )


def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda k, to: transfer(k, 1, to), "nonce too high"),
        (lambda k, to: transfer(k, 0, to, chainId=1), "invalid chain id for signer"),
        (lambda k, to: transfer(k, 0, to, 10**30), "insufficient funds for gas * price + value"),
        (lambda k, to: transfer(k, 0, to, gas=20_000), "intrinsic gas too low"),
        (lambda k, to: transfer(k, 0, to, maxFeePerGas=10**6, maxPriorityFeePerGas=1), "max fee"),
        (
            lambda k, to: bytes(
                Account.sign_transaction(
                    {"to": to, "value": 1, "gas": 21_000, "gasPrice": 10**11, "nonce": 0}, k
                ).raw_transaction
            ),
            "only replay-protected",
        ),
        (lambda k, to: b"\x02\x01\x02", "invalid transaction"),
    ],
)
def test_the_pool_rejects_like_geth(build: object, message: str) -> None:
    chain, _ = make()
    me, you = dev_accounts()[0], dev_accounts()[1]
    with pytest.raises(TxRejected, match=re.escape(message)):
        chain.ledger.submit(build(me.key, _checksum(you.address)))  # type: ignore[operator]
    assert chain.ledger.pending() == []


def test_nonce_too_low_and_already_known() -> None:
    chain, clock = make()
    me, you = dev_accounts()[0], dev_accounts()[1]
    raw = transfer(me.key, 0, you.address)
    chain.ledger.submit(raw)
    with pytest.raises(TxRejected, match="already known"):
        chain.ledger.submit(raw)
    clock.now = 1.0
    with pytest.raises(TxRejected, match="nonce too low"):
        chain.ledger.submit(transfer(me.key, 0, you.address, 7))


def test_a_reorg_keeps_a_users_transaction_and_rebuilds_the_state() -> None:
    chain, clock = make()
    me, you = dev_accounts()[0], dev_accounts()[1]
    tx = chain.ledger.submit(transfer(me.key, 0, you.address, 10**18))
    clock.now = 5.0
    old = chain.block(FIRST + 1)
    assert old is not None and old.body is not None
    chain.reorg(5)
    new = chain.block(FIRST + 1)
    assert new is not None and new.body is not None and new.hash != old.hash
    assert tx.hash in [t.hash for t in new.body.transactions]
    assert [t.hash for t in new.body.transactions] != [t.hash for t in old.body.transactions]
    (receipt,) = [r for r in new.body.receipts if r.transaction.hash == tx.hash]
    assert receipt.where.block_hash == new.hash
    assert chain.ledger.state_at(FIRST + 5).balance(you.address) == DEV_BALANCE + 10**18


def test_state_is_kept_for_a_window_of_recent_blocks() -> None:
    chain, clock = make()
    clock.now = STATE_WINDOW + 50
    head = chain.head_number()
    chain.ledger.state_at(head)
    chain.ledger.state_at(head - STATE_WINDOW)
    with pytest.raises(MissingState):
        chain.ledger.state_at(head - STATE_WINDOW - 1)
    with pytest.raises(MissingState):
        chain.ledger.state_at(FIRST - 1)
