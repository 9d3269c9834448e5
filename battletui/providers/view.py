"""The chain as one provider sees it: the shared mock chain, capped at a frozen head while
the provider lags.

Below the frozen head the view is the shared chain as it is now (a reorg that reaches below
the frozen head shows at once in HTTP answers; the newHeads feed announces it when the
provider catches up). Above it, blocks and logs do not exist yet for this provider.
"""

from __future__ import annotations

from battletui.chain import Block, MockChain
from battletui.chain.state import State


class ChainView:
    """``head_number`` / ``block`` / ``block_by_hash`` of one provider (``get_logs`` clamps
    its range to ``head_number`` and reads the logs off ``chain``)."""

    def __init__(self, chain: MockChain) -> None:
        self.chain = chain
        self.lag_head: int | None = None

    @property
    def lagging(self) -> bool:
        return self.lag_head is not None

    def freeze(self) -> int:
        """Freeze the head at the chain's current head (kept if already frozen)."""
        if self.lag_head is None:
            self.lag_head = self.chain.head_number()
        return self.lag_head

    def unfreeze(self) -> None:
        self.lag_head = None

    def head_number(self) -> int:
        head = self.chain.head_number()
        return head if self.lag_head is None else min(head, self.lag_head)

    def block(self, number: int) -> Block | None:
        if number > self.head_number():
            return None
        return self.chain.block(number)

    def block_by_hash(self, hash_hex: str) -> Block | None:
        block = self.chain.block_by_hash(hash_hex)
        if block is None or block.number > self.head_number():
            return None
        return block

    def state_at(self, number: int) -> State | None:
        """The state after block ``number``; None above this provider's head. Raises
        ``MissingState`` below the chain's state window."""
        if number > self.head_number():
            return None
        return self.chain.ledger.state_at(number)
