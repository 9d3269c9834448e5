"""The answer checker against a replica of the chain: right, stale and wrong answers, and a
mismatch held until the replica has surely heard of what the lab did."""

from __future__ import annotations

from typing import Any

from battletui.chain import MockChain
from battletui.chain.accounts import activity_accounts, dev_accounts
from battletui.chain.tokens import TOKENS, TRANSFER_TOPIC
from battletui.workload.answer_check import AnswerChecker

FIRST = 1000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Settled:
    """The replica's ``settled``: True once told so (a test decides when news arrived)."""

    def __init__(self) -> None:
        self.yes = False

    def __call__(self, when: float) -> bool:
        return self.yes


def rig(stale: int = 2) -> tuple[MockChain, Clock, AnswerChecker, Settled]:
    clock = Clock()
    chain = MockChain(9, block_time=1.0, clock=clock, first_block=FIRST, origin=100.0)
    settled = Settled()
    return chain, clock, AnswerChecker(chain, stale, settled), settled


def block_json(chain: MockChain, number: int) -> dict[str, Any]:
    block = chain.block(number)
    assert block is not None
    return dict(block.to_json())


def test_heads_are_right_stale_or_wrong() -> None:
    _chain, clock, checker, settled = rig()
    clock.now += 20  # head 1020
    at = clock.now
    assert checker.check("eth_blockNumber", "a", ("head",), hex(1020), at, at) == "ok"
    assert checker.check("eth_blockNumber", "a", ("head",), hex(1018), at, at) == "ok"
    assert checker.check("eth_blockNumber", "a", ("head",), hex(1017), at, at) == "stale"
    assert checker.check("eth_blockNumber", "a", ("head",), hex(1090), at, at) is None
    assert checker.settle() == []  # held: the lab might know better
    settled.yes = True
    (late,) = checker.settle()
    assert (late.method, late.upstream, late.verdict) == ("eth_blockNumber", "a", "wrong")
    assert checker.check("eth_chainId", None, ("chain_id",), "0x1", at, at) == "ok"
    assert checker.check("eth_chainId", None, ("chain_id",), "0x5", at, at) == "wrong"
    assert checker.check("eth_blockNumber", None, ("head",), "soon", at, at) == "wrong"


def test_a_block_of_a_replaced_branch_is_wrong_unless_it_was_canonical_when_asked() -> None:
    chain, clock, checker, settled = rig()
    clock.now += 20
    settled.yes = True
    before = block_json(chain, 1019)
    asked = clock.now
    clock.now += 0.2
    chain.fork_at(1018, clock.now)  # a reorg while the request was in flight
    after = block_json(chain, 1019)
    assert before["hash"] != after["hash"]
    query = ("block", 1019, False)
    assert checker.check("eth_getBlockByNumber", "a", query, before, asked, clock.now) == "ok"
    assert checker.check("eth_getBlockByNumber", "a", query, after, asked, clock.now) == "ok"
    clock.now += 1
    late = clock.now
    assert checker.check("eth_getBlockByNumber", "a", query, before, late, late) is None
    assert [j.verdict for j in checker.settle()] == ["wrong"]
    latest = ("block", "latest", False)
    stale_block = block_json(chain, 1015)
    assert checker.check("eth_getBlockByNumber", "b", latest, stale_block, late, late) == "stale"
    full = dict(block_json(chain, 1019))
    full["transactions"] = ["0x" + "ab" * 32]
    assert (
        checker.check("eth_getBlockByNumber", "b", ("block", 1019, True), full, late, late) is None
    )
    assert [j.verdict for j in checker.settle()] == ["wrong"]


def test_balances_from_an_old_block_are_stale_and_made_up_ones_wrong() -> None:
    chain, clock, checker, settled = rig()
    settled.yes = True
    clock.now += 30
    sender = activity_accounts(9, 1)[0].address  # pays fees every few blocks
    state = chain.ledger
    now = clock.now
    current = hex(state.state_at(1030).balance(sender))
    old = hex(state.state_at(1020).balance(sender))
    assert current != old
    query = ("state", "eth_getBalance", sender, None, None)
    assert checker.check("eth_getBalance", "a", query, current, now, now) == "ok"
    assert checker.check("eth_getBalance", "a", query, old, now, now) == "stale"
    assert checker.check("eth_getBalance", "a", query, "0x1234", now, now) is None
    assert [j.verdict for j in checker.settle()] == ["wrong"]
    me = dev_accounts()[0].address
    nonce = ("state", "eth_getTransactionCount", me, None, None)
    assert checker.check("eth_getTransactionCount", "a", nonce, "0x0", now, now) == "ok"


def test_logs_missing_from_blocks_a_fresh_node_has_are_stale_and_forged_ones_wrong() -> None:
    chain, clock, checker, settled = rig()
    settled.yes = True
    clock.now += 40
    now = clock.now
    token = TOKENS[0].address
    query = ("logs", 1020, 1035, token, TRANSFER_TOPIC)
    logs = [
        log.to_json()
        for n in range(1020, 1036)
        for log in chain.logs(n)
        if log.address == token and log.topics[0] == TRANSFER_TOPIC
    ]
    assert logs, "the background traffic moves this token"
    assert checker.check("eth_getLogs", "a", query, logs, now, now) == "ok"
    assert checker.check("eth_getLogs", "a", query, logs[:1], now, now) == "stale"
    forged = [{**logs[0], "transactionHash": "0x" + "cd" * 32}]
    assert checker.check("eth_getLogs", "a", query, forged, now, now) is None
    assert [j.verdict for j in checker.settle()] == ["wrong"]


def test_receipts_of_mined_transactions_must_be_there() -> None:
    chain, clock, checker, settled = rig()
    settled.yes = True
    clock.now += 20
    now = clock.now
    number = next(n for n in range(1010, 1018) if chain.block(n).body.transactions)  # type: ignore[union-attr]
    block = chain.block(number)
    assert block is not None and block.body is not None
    receipt = block.body.receipts[0]
    query = ("receipt", receipt.transaction.hash, number)
    assert (
        checker.check("eth_getTransactionReceipt", "a", query, receipt.to_json(), now, now) == "ok"
    )
    assert checker.check("eth_getTransactionReceipt", "a", query, None, now, now) == "stale"
    failed = {**receipt.to_json(), "status": "0x0"}
    assert checker.check("eth_getTransactionReceipt", "a", query, failed, now, now) is None
    assert [j.verdict for j in checker.drain()] == ["wrong"]
    assert checker.check("eth_gasPrice", "a", None, "0x1", now, now) is None  # not judged
