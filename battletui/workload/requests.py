"""Which JSON-RPC call to make next: the scenario's method mix, drawn from a seeded RNG.

Bodies come out as bytes, with a *query*: what was asked, in the few words the answer checker
(``answer_check.py``) needs to judge the answer against the canonical chain. A method whose
params never change is a pre-encoded template with only the id filled in (one ``%`` format
per request, no JSON encoder on the hot path); the rest follow the chain (the newest block
seen, recent transactions) or pick an account, a token and a call the way a real client of
that kind would (``mix: dapp`` / ``wallet`` / ``indexer``), and are encoded with orjson.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping
from typing import Any, Final

import orjson
from eth_abi.abi import encode

from battletui.chain import MockChain
from battletui.chain.accounts import activity_accounts, dev_accounts
from battletui.chain.hexutil import data
from battletui.chain.tokens import (
    AGGREGATE3,
    BALANCE_OF,
    MULTICALL3,
    TOKENS,
    TRANSFER,
    TRANSFER_TOPIC,
)

__all__ = ["Query", "RequestFactory"]

Query = tuple[Any, ...] | None
"""What a request asked, for the checker: ``("head",)``, ``("block", number | "latest",
full)``, ``("state", block, method, address, call data)``... None: nothing to check."""

_FIXED: Final[Mapping[str, tuple[list[Any], Query]]] = {
    "eth_blockNumber": ([], ("head",)),
    "eth_chainId": ([], ("chain_id",)),
    "eth_gasPrice": ([], None),
    "eth_maxPriorityFeePerGas": ([], None),
    "net_version": ([], None),
    "web3_clientVersion": ([], None),
    "eth_feeHistory": (["0x5", "latest", [25, 75]], None),
}
"""Methods whose params never change: a template each (``eth_getBlockByNumber`` joins them
for the plain mixes, which ask for the latest header)."""
LATEST_HEADER: Final = (["latest", False], ("block", "latest", False))
BEHIND: Final = 2
"""How far below the newest block seen an indexer reads (it waits for a little finality)."""


def _template(method: str, params: list[Any]) -> bytes:
    """``{"jsonrpc":"2.0","id":%d,...}`` for a method whose params are fixed."""
    body = orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
    return body.replace(b'"id":0', b'"id":%d', 1)


class RequestFactory:
    """Builds request bodies for the mix; reproducible for a given seed (and stream).

    ``chain`` is a replica of the session's chain when there is one: recent transactions to
    ask receipts for come from it (a wallet asks about what it sent; here, what the chain
    carried), never an answer's claims.
    """

    def __init__(
        self,
        mix: Mapping[str, int],
        seed: int,
        *,
        stream: int = 0,
        preset: str | None = None,
        chain_id: int = 1,
        chain: MockChain | None = None,
    ) -> None:
        methods = [m for m, w in mix.items() if w > 0]
        if not methods:
            raise ValueError("the method mix has no positive weight")
        self._methods = methods
        self._cumulative = list(itertools.accumulate(mix[m] for m in methods))
        self._total = float(self._cumulative[-1])
        name = f"workload-http-{seed}" if stream == 0 else f"workload-http-{seed}-{stream}"
        self._random = random.Random(name)
        self._next_id = 0
        self._preset = preset
        self._chain = chain
        fixed = dict(_FIXED)
        if preset != "indexer":
            fixed["eth_getBlockByNumber"] = LATEST_HEADER
        self._templates = {
            m: (_template(m, fixed[m][0]), fixed[m][1]) for m in methods if m in fixed
        }
        accounts = [*dev_accounts(), *activity_accounts(seed, chain_id)]
        self._accounts = [a.address for a in accounts]
        self.last_block_hash: str | None = None
        self.last_block_number = 0
        """Newest block number seen in an answer; ranges and recent reads follow it."""

    def next(self) -> tuple[str, bytes, Query]:
        """The next method of the mix, its whole JSON-RPC body and what it asks."""
        # random.choices(methods, weights)[0], the same draw without its per-call set-up
        draw = self._random.random() * self._total
        method = self._methods[bisect.bisect(self._cumulative, draw, 0, len(self._methods) - 1)]
        self._next_id += 1
        template = self._templates.get(method)
        if template is not None:
            return method, template[0] % self._next_id, template[1]
        method, params, query = self._build(method)
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        return method, orjson.dumps(body), query

    # -- params that follow the chain ------------------------------------------------------

    def _build(self, method: str) -> tuple[str, list[Any], Query]:
        rng, newest = self._random, self.last_block_number
        if method == "eth_getLogs":
            return method, *self._logs(newest)
        if method == "eth_getBlockByNumber":  # the indexer: whole blocks a little behind
            if not newest:
                return method, *LATEST_HEADER
            number = max(0, newest - BEHIND - rng.randrange(8))
            return method, [hex(number), True], ("block", number, True)
        if method == "eth_getBlockByHash":
            if self.last_block_hash is None:
                return "eth_getBlockByNumber", *LATEST_HEADER
            wanted = self.last_block_hash
            return method, [wanted, False], ("block_hash", wanted, newest)
        if method == "eth_getBlockReceipts":
            if not newest:
                return "eth_blockNumber", [], ("head",)
            number = max(0, newest - BEHIND - rng.randrange(8))
            return method, [hex(number)], ("block_receipts", number)
        if method in ("eth_getTransactionReceipt", "eth_getTransactionByHash"):
            found = self._recent_transaction()
            if found is None:
                return "eth_blockNumber", [], ("head",)
            tx_hash, number = found
            kind = "receipt" if method == "eth_getTransactionReceipt" else "transaction"
            return method, [tx_hash], (kind, tx_hash, number)
        account = self._accounts[rng.randrange(len(self._accounts))]
        if method in ("eth_getBalance", "eth_getTransactionCount", "eth_getCode"):
            if method == "eth_getCode" and rng.random() < 0.5:
                account = TOKENS[rng.randrange(len(TOKENS))].address
            return method, [account, "latest"], ("state", method, account, None, None)
        if method == "eth_call":
            to, payload = self._call(account)
            params = [{"to": to, "data": data(payload)}, "latest"]
            return method, params, ("state", method, account, to, payload)
        if method == "eth_estimateGas":
            sender = self._accounts[rng.randrange(len(dev_accounts()))]
            token = TOKENS[rng.randrange(len(TOKENS))]
            payload = TRANSFER + encode(["address", "uint256"], [account, token.unit])
            call = {"from": sender, "to": token.address, "data": data(payload)}
            return method, [call], None
        raise ValueError(f"no parameters known for {method}")

    def _logs(self, newest: int) -> tuple[list[Any], Query]:
        if not newest:
            return [{"fromBlock": "latest", "toBlock": "latest"}], None
        rng = self._random
        if self._preset == "indexer":
            last = max(0, newest - BEHIND)
            first = max(0, last - 10 - rng.randrange(40))
        else:
            first, last = max(0, newest - 9), newest
        criteria: dict[str, Any] = {"fromBlock": hex(first), "toBlock": hex(last)}
        address = topic = None
        if self._preset in ("dapp", "wallet"):  # a dapp watches its contract's transfers
            address = TOKENS[rng.randrange(len(TOKENS))].address
            topic = TRANSFER_TOPIC
            criteria["address"] = address
            criteria["topics"] = [topic]
        return [criteria], ("logs", first, last, address, topic)

    def _call(self, holder: str) -> tuple[str, bytes]:
        rng = self._random
        token = TOKENS[rng.randrange(len(TOKENS))]
        balance_of = BALANCE_OF + encode(["address"], [holder])
        if rng.random() < 0.7:
            return token.address, balance_of
        others = [self._accounts[rng.randrange(len(self._accounts))] for _ in range(2)]
        calls = [(token.address, False, balance_of)] + [
            (t.address, True, BALANCE_OF + encode(["address"], [o]))
            for t, o in zip(TOKENS, others, strict=False)
        ]
        return MULTICALL3, AGGREGATE3 + encode(["(address,bool,bytes)[]"], [calls])

    def _recent_transaction(self) -> tuple[str, int] | None:
        chain = self._chain
        if chain is None or not self.last_block_number:
            return None
        rng = self._random
        for _ in range(4):
            number = max(0, self.last_block_number - BEHIND - rng.randrange(8))
            block = chain.block(number)
            if block is not None and block.body is not None and block.body.transactions:
                txs = block.body.transactions
                return txs[rng.randrange(len(txs))].hash, number
        return None
