"""Mock event logs: 0-3 per block, every byte derived from the block's hash.

Deriving from the hash (which already depends on the seed, the chain id, the number and the
reorg generation) makes the logs of a replaced block change with it, so ``blockHash`` of a log
always names a block of the current chain.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Final

from battletui.chain.hexutil import data, quantity

TRANSFER_TOPIC: Final = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""keccak256("Transfer(address,address,uint256)")."""
APPROVAL_TOPIC: Final = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"
"""keccak256("Approval(address,address,uint256)")."""
SYNC_TOPIC: Final = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
"""keccak256("Sync(uint112,uint112)"), Uniswap V2 pairs: one topic, two words of data."""

EVENT_TOPICS: Final = (TRANSFER_TOPIC, APPROVAL_TOPIC, SYNC_TOPIC)
MAX_LOGS_PER_BLOCK: Final = 3
CONTRACT_COUNT: Final = 4
LOGS_CACHE_SIZE: Final = 4096
"""Blocks whose logs ``block_logs`` keeps built (a full ``eth_getLogs`` range is 1000)."""


@dataclass(frozen=True)
class Log:
    """One log entry of the mock chain."""

    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    transaction_hash: str
    transaction_index: int
    log_index: int

    def to_json(self) -> dict[str, object]:
        """The log as geth's ``eth_getLogs`` returns it (geth's key order)."""
        return {
            "address": self.address,
            "topics": list(self.topics),
            "data": self.data,
            "blockNumber": quantity(self.block_number),
            "transactionHash": self.transaction_hash,
            "transactionIndex": quantity(self.transaction_index),
            "blockHash": self.block_hash,
            "logIndex": quantity(self.log_index),
            "removed": False,
        }


def _h(*parts: object) -> bytes:
    return hashlib.sha256("/".join(str(p) for p in ("battletui/log", *parts)).encode()).digest()


def _word(raw: bytes) -> str:
    """32 bytes of ``raw`` as a topic or data word."""
    return data(raw[:32].rjust(32, b"\0"))


def _address_topic(address: str) -> str:
    """An address left-padded to 32 bytes, as indexed event arguments are."""
    return "0x" + "00" * 12 + address[2:]


def contracts(seed: int, chain_id: int) -> tuple[str, ...]:
    """The mock contracts that emit the logs (lowercase hex addresses)."""
    return tuple(data(_h("contract", seed, chain_id, i)[:20]) for i in range(CONTRACT_COUNT))


@functools.lru_cache(maxsize=LOGS_CACHE_SIZE)
def block_logs(number: int, block_hash: str, emitters: tuple[str, ...]) -> tuple[Log, ...]:
    """The logs of block ``number`` whose hash is ``block_hash``; one transaction per log.

    Pure, so cached per ``(number, hash, emitters)``: a replaced block has a new hash, and
    the result (a tuple of frozen logs) cannot be changed by a caller.
    """
    count = _h("count", block_hash)[0] % (MAX_LOGS_PER_BLOCK + 1)
    logs = []
    for index in range(count):
        raw = _h("entry", block_hash, index)
        address = emitters[raw[0] % len(emitters)]
        event = EVENT_TOPICS[raw[1] % len(EVENT_TOPICS)]
        if event == SYNC_TOPIC:
            topics: tuple[str, ...] = (event,)
            payload = (
                _word(_h("reserve0", block_hash, index)[:14])
                + _word(_h("reserve1", block_hash, index)[:14])[2:]
            )
        else:
            sender = data(_h("from", block_hash, index)[:20])
            receiver = data(_h("to", block_hash, index)[:20])
            topics = (event, _address_topic(sender), _address_topic(receiver))
            payload = _word(_h("amount", block_hash, index)[:12])
        logs.append(
            Log(
                address=address,
                topics=topics,
                data=payload,
                block_number=number,
                block_hash=block_hash,
                transaction_hash=data(_h("tx", block_hash, index)),
                transaction_index=index,
                log_index=index,
            )
        )
    return tuple(logs)
