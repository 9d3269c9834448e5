"""Every answer judged against the canonical chain: right, **stale** or **wrong**.

* **stale**: the answer describes the chain as it was more than ``stale_blocks`` blocks
  before the canonical head at the moment the request was sent (a lagging provider's head,
  a balance from an old block, a block it says does not exist yet);
* **wrong**: it contradicts the canonical chain, or matches only a branch a reorg replaced
  (a block hash, a log, a receipt, a balance no recent block had). A mismatch is only called
  wrong once the replica has surely heard of everything the lab did before the answer came
  (``ChainReplica.settled``); until then it waits in a short queue. An answer that matches the
  branch that was canonical when the request left is right, even if a reorg came meanwhile.

Only what can be judged is counted as checked (fee estimates and gas prices are opinions).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from battletui.chain import MockChain
from battletui.chain.calls import BlockContext, call
from battletui.chain.execution import Reverted
from battletui.chain.hexutil import data
from battletui.chain.ledger import MissingState
from battletui.chain.tokens import CONTRACT_ADDRESSES, stand_in_code
from battletui.workload.requests import Query

Verdict = Literal["ok", "stale", "wrong"]
PENDING_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class Judged:
    method: str
    upstream: str | None
    verdict: Verdict


class _Suspect(Exception):
    """A mismatch to judge again once the replica is settled."""


class AnswerChecker:
    """Judges answers for one load generator (or the engine's subscribers)."""

    def __init__(
        self, chain: MockChain, stale_blocks: int, settled: Callable[[float], bool]
    ) -> None:
        self._chain = chain
        self._stale = stale_blocks
        self._settled = settled
        self._suspects: deque[tuple[float, str, str | None, tuple[Any, ...], Any, float, float]] = (
            deque()
        )

    def check(
        self, method: str, upstream: str | None, query: Query, result: Any, sent: float, done: float
    ) -> Verdict | None:
        """The verdict now, or None (not checkable, or a mismatch held until settled)."""
        if query is None:
            return None
        try:
            return self._judge(query, result, sent, done)
        except _Suspect:
            if len(self._suspects) < PENDING_LIMIT:
                self._suspects.append((done, method, upstream, query, result, sent, done))
            return None
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            return "wrong"  # not even the shape of an answer to that question

    def settle(self) -> list[Judged]:
        """Judge again the held mismatches whose news has surely arrived."""
        out: list[Judged] = []
        while self._suspects and self._settled(self._suspects[0][0]):
            _, method, upstream, query, result, sent, done = self._suspects.popleft()
            try:
                verdict = self._judge(query, result, sent, done)
            except _Suspect:
                verdict = "wrong"
            except (ValueError, TypeError, KeyError, AttributeError, IndexError):
                verdict = "wrong"
            out.append(Judged(method, upstream, verdict))
        return out

    def drain(self) -> list[Judged]:
        """Everything still held, judged as it stands (the load has stopped)."""
        out: list[Judged] = []
        while self._suspects:
            _, method, upstream, query, result, sent, done = self._suspects.popleft()
            try:
                verdict = self._judge(query, result, sent, done)
            except (_Suspect, ValueError, TypeError, KeyError, AttributeError, IndexError):
                verdict = "wrong"
            out.append(Judged(method, upstream, verdict))
        return out

    # -- the rules -------------------------------------------------------------------------

    def _judge(self, query: tuple[Any, ...], result: Any, sent: float, done: float) -> Verdict:
        chain = self._chain
        kind = query[0]
        bound = chain.head_at(sent) - self._stale  # anything older is stale
        newest = chain.head_at(done) + 1  # a block boundary race at most
        if kind == "head":
            number = int(result, 16)
            if number > newest:
                raise _Suspect
            return "stale" if number < bound else "ok"
        if kind == "head_block":  # a newHeads notification
            number = int(result["number"], 16)
            if number > newest or not self._valid_hash(number, str(result["hash"]), sent):
                raise _Suspect
            return "stale" if number < bound else "ok"
        if kind == "chain_id":
            return "ok" if int(result, 16) == chain.chain_id else "wrong"
        if kind == "block":
            _, asked, full = query
            if result is None:
                if asked == "latest":
                    raise _Suspect
                return "stale" if asked <= bound else "ok"
            number = int(result["number"], 16)
            if (asked != "latest" and number != asked) or number > newest:
                raise _Suspect
            self._block_matches(number, result, sent, full)
            return "stale" if asked == "latest" and number < bound else "ok"
        if kind == "block_hash":
            _, wanted, seen_at = query
            if result is None:
                canonical = seen_at and chain.hash_of(seen_at) == wanted
                return "stale" if canonical and seen_at <= bound else "ok"
            self._block_matches(int(result["number"], 16), result, sent, False)
            return "ok"
        if kind == "logs":
            return self._logs(query, result, sent, bound)
        if kind in ("receipt", "transaction"):
            return self._receipt(query, result, sent, bound)
        if kind == "block_receipts":
            return self._block_receipts(query[1], result, sent, bound)
        if kind == "state":
            return self._state(query, result, sent, done, bound)
        return "ok"

    def _valid_hash(self, number: int, block_hash: str, sent: float) -> bool:
        chain = self._chain
        wanted = block_hash.lower()
        return wanted == chain.hash_of(number) or wanted == chain.hash_as_of(number, sent)

    def _block_matches(self, number: int, result: Any, sent: float, full: bool) -> None:
        if not self._valid_hash(number, str(result["hash"]), sent):
            raise _Suspect
        if full:
            block = self._chain.block(number)
            if block is None or block.body is None:
                raise _Suspect
            got = [tx["hash"] if isinstance(tx, dict) else tx for tx in result["transactions"]]
            if got != [tx.hash for tx in block.body.transactions]:
                raise _Suspect

    def _logs(self, query: tuple[Any, ...], result: Any, sent: float, bound: int) -> Verdict:
        _, first, last, address, topic = query
        chain = self._chain
        seen: set[int] = set()
        for log in result:
            number = int(log["blockNumber"], 16)
            if not first <= number <= last or not self._valid_hash(number, log["blockHash"], sent):
                raise _Suspect
            index = int(log["logIndex"], 16)
            canonical = {entry.log_index: entry for entry in chain.logs(number)}
            entry = canonical.get(index)
            differs = entry is None or entry.transaction_hash != str(log["transactionHash"]).lower()
            if differs and chain.hash_of(number) == str(log["blockHash"]).lower():
                raise _Suspect
            seen.add(number)
        complete_to = min(last, bound)
        for number in range(first, complete_to + 1):  # blocks any fresh node has by now
            if number in seen:
                continue
            if any(_wanted(entry, address, topic) for entry in chain.logs(number)):
                return "stale"  # what a provider that had these blocks would have sent
        return "ok"

    def _receipt(self, query: tuple[Any, ...], result: Any, sent: float, bound: int) -> Verdict:
        _, tx_hash, number = query
        if result is None:
            return "stale" if number <= bound else "ok"
        got = int(result["blockNumber"], 16)
        if not self._valid_hash(got, str(result["blockHash"]), sent):
            raise _Suspect
        block = self._chain.block(got)
        if block is None or block.body is None:
            raise _Suspect
        for receipt in block.body.receipts:
            if receipt.transaction.hash == tx_hash:
                if query[0] == "receipt" and int(result["status"], 16) != receipt.status:
                    raise _Suspect
                return "ok"
        raise _Suspect

    def _block_receipts(self, number: int, result: Any, sent: float, bound: int) -> Verdict:
        if result is None:
            return "stale" if number <= bound else "ok"
        block = self._chain.block(number)
        if block is None or block.body is None:
            raise _Suspect
        if [r["transactionHash"] for r in result] != [tx.hash for tx in block.body.transactions]:
            raise _Suspect
        if any(not self._valid_hash(number, str(r["blockHash"]), sent) for r in result):
            raise _Suspect
        return "ok"

    def _state(
        self, query: tuple[Any, ...], result: Any, sent: float, done: float, bound: int
    ) -> Verdict:
        _, method, account, to, payload = query
        chain = self._chain
        newest = min(chain.head_number(), chain.head_at(done) + 1)
        # Newest first, down to the oldest state kept: a value some recent block had is stale
        # (a lagging node), one no block in the window had is wrong.
        for number in range(newest, chain.ledger.oldest_state - 1, -1):
            try:
                expected = self._expected(method, account, to, payload, number)
            except MissingState:
                break
            if expected == result:
                return "stale" if number < bound else "ok"
        raise _Suspect

    def _expected(
        self, method: str, account: str, to: str | None, payload: bytes | None, number: int
    ) -> str:
        chain = self._chain
        state = chain.ledger.state_at(number)
        if method == "eth_getBalance":
            return hex(state.balance(account))
        if method == "eth_getTransactionCount":
            return hex(state.nonce(account))
        if method == "eth_getCode":
            return stand_in_code(account) if account in CONTRACT_ADDRESSES else "0x"
        block = chain.block(number)
        assert block is not None and payload is not None
        context = BlockContext(number, block.timestamp, block.base_fee_per_gas, chain.chain_id)
        try:
            return data(call(state, context, "0x" + "00" * 20, to, 0, payload))
        except Reverted:
            return "reverted"


def _wanted(entry: Any, address: str | None, topic: str | None) -> bool:
    return (address is None or entry.address == address) and (
        topic is None or (bool(entry.topics) and entry.topics[0] == topic)
    )
