"""Event logs, as the chain's receipts carry them and ``eth_getLogs`` returns them."""

from __future__ import annotations

from dataclasses import dataclass

from battletui.chain.hexutil import quantity


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
