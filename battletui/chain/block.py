"""One block header, and its JSON exactly as geth's ``eth_getBlockByNumber`` returns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Final

import rlp
from eth_utils.crypto import keccak

from battletui.chain.hexutil import data, quantity

if TYPE_CHECKING:
    from battletui.chain.ledger import Body

ZERO_HASH: Final = "0x" + "00" * 32
"""Parent of block 0, as in a real genesis."""

EMPTY_TRIE_ROOT: Final = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
"""Root of an empty Merkle-Patricia trie: the roots of a block without transactions (and of
every block's withdrawals), as on a real empty block."""

EMPTY_UNCLES_HASH: Final = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
"""keccak256(rlp([])): every post-merge block has no uncles."""

EMPTY_BLOOM: Final = "0x" + "00" * 256
EMPTY_NONCE: Final = "0x0000000000000000"
EXTRA_DATA: Final = data(b"battletui")
GAS_LIMIT: Final = 30_000_000
BLOCK_SIZE: Final = 0x253
"""Close to the RLP size of an empty post-Cancun block (plus each transaction's raw size);
clients display it, none check it."""

NOT_IN_HEADER: Final = frozenset(
    {"size", "totalDifficulty", "transactions", "uncles", "withdrawals"}
)
"""Block fields that geth's ``newHeads`` notifications leave out (they describe the body)."""


@dataclass(frozen=True)
class Block:
    """A canonical block of the mock chain.

    The first four fields are what streams are checked against; the rest only make the JSON
    look like a real header and are derived from the seed too.
    """

    number: int
    hash: str
    parent_hash: str
    timestamp: int
    state_root: str = ZERO_HASH
    mix_hash: str = ZERO_HASH
    parent_beacon_block_root: str = ZERO_HASH
    miner: str = "0x" + "00" * 20
    base_fee_per_gas: int = 1_000_000_000
    gas_limit: int = GAS_LIMIT
    body: Body | None = field(default=None, compare=False, repr=False)

    def to_json(self, full_transactions: bool = False) -> dict[str, object]:
        """The block as a JSON-RPC result (keys in geth's order, which is alphabetical):
        transaction hashes, or whole transactions with ``full_transactions``.

        Built once per block and shared: callers only serialise it and must not change it.
        """
        return self._full_json if full_transactions else self._json

    @cached_property
    def _full_json(self) -> dict[str, object]:
        body = self.body
        if body is None or not body.transactions:
            return self._json
        full = dict(self._json)
        full["transactions"] = [r.transaction.to_json(r.where) for r in body.receipts]
        return full

    @cached_property
    def _json(self) -> dict[str, object]:
        body = self.body
        txs = () if body is None else body.transactions
        hashes = [tx.hash for tx in txs]
        receipts = () if body is None else body.receipts
        return {
            "baseFeePerGas": quantity(self.base_fee_per_gas),
            "blobGasUsed": "0x0",
            "difficulty": "0x0",
            "excessBlobGas": "0x0",
            "extraData": EXTRA_DATA,
            "gasLimit": quantity(self.gas_limit),
            "gasUsed": quantity(0 if body is None else body.gas_used),
            "hash": self.hash,
            "logsBloom": EMPTY_BLOOM if body is None else body.logs_bloom,
            "miner": self.miner,
            "mixHash": self.mix_hash,
            "nonce": EMPTY_NONCE,
            "number": quantity(self.number),
            "parentBeaconBlockRoot": self.parent_beacon_block_root,
            "parentHash": self.parent_hash,
            "receiptsRoot": _stand_in_root([r.logs_bloom for r in receipts], "receipts"),
            "sha3Uncles": EMPTY_UNCLES_HASH,
            "size": quantity(BLOCK_SIZE + sum(len(tx.raw) for tx in txs)),
            "stateRoot": self.state_root,
            "timestamp": quantity(self.timestamp),
            "totalDifficulty": "0x0",
            "transactions": hashes,
            "transactionsRoot": _stand_in_root(hashes, "transactions"),
            "uncles": [],
            "withdrawals": [],
            "withdrawalsRoot": EMPTY_TRIE_ROOT,
        }

    def header_json(self) -> dict[str, object]:
        """The header as geth's ``newHeads`` subscription sends it.

        The ``eth_getBlockByNumber`` object without the body fields (``transactions``,
        ``uncles``, ``withdrawals``) nor ``size`` and ``totalDifficulty``; the roots
        (``transactionsRoot``, ``withdrawalsRoot``...) and ``hash`` stay. Built once per block
        and shared, like ``to_json``: callers must not change it.
        """
        return self._header_json

    @cached_property
    def _header_json(self) -> dict[str, object]:
        return {k: v for k, v in self._json.items() if k not in NOT_IN_HEADER}


def _stand_in_root(items: list[str], kind: str) -> str:
    """A root that commits to ``items`` (the empty trie's root when there are none).

    Not a Merkle-Patricia trie root: no client checks these against the body, and a real
    trie would cost more than the rest of the block.
    """
    if not items:
        return EMPTY_TRIE_ROOT
    return data(keccak(rlp.encode([kind.encode(), *(bytes.fromhex(i[2:]) for i in items)])))
