"""The chain's background traffic: token transfers and approvals between activity accounts.

How many transactions a block carries depends only on its number (a pattern of
``PATTERN_BLOCKS`` blocks from the seed), and they are sent by the activity accounts in turn,
so the sender and nonce of every background transaction follow a formula: any block of any
age is built without replaying history, and a reorg keeps nonces in order. What each one does
(token, method, counterpart, amount, tip) comes from the block's hash, so a replaced block
carries different transactions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from eth_abi.abi import encode

from battletui.chain.accounts import ACTIVITY_ACCOUNT_COUNT
from battletui.chain.derive import derive, derive_int
from battletui.chain.tokens import APPROVE, TOKENS, TRANSFER, TokenSpec

PATTERN_BLOCKS: Final = 64
MAX_PER_BLOCK: Final = 3
GAS_LIMIT: Final = 100_000
APPROVE_SHARE: Final = 5
"""One background transaction in this many is an approval, the rest transfers."""


@dataclass(frozen=True)
class Plan:
    """One background transaction before it is signed."""

    sender: int
    """Index into the activity accounts."""
    nonce: int
    token: TokenSpec
    approve: bool
    counterpart: int
    """Index of the receiver (or spender) among the activity accounts."""
    amount: int
    tip: int

    def payload(self, counterpart_address: str) -> bytes:
        method = APPROVE if self.approve else TRANSFER
        return method + encode(["address", "uint256"], [counterpart_address, self.amount])


@functools.cache
def _pattern(seed: int, chain_id: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    counts = tuple(
        derive_int(seed, chain_id, "tx-count", i, 0, MAX_PER_BLOCK + 1)
        for i in range(PATTERN_BLOCKS)
    )
    prefix = [0]
    for count in counts:
        prefix.append(prefix[-1] + count)
    return counts, tuple(prefix)


def count_in(seed: int, chain_id: int, number: int) -> int:
    """Background transactions in block ``number`` (none in the genesis block)."""
    if number <= 0:
        return 0
    counts, _ = _pattern(seed, chain_id)
    return counts[number % PATTERN_BLOCKS]


def sent_before(seed: int, chain_id: int, number: int) -> int:
    """Background transactions in blocks ``1 .. number - 1``."""
    if number <= 1:
        return 0
    _counts, prefix = _pattern(seed, chain_id)

    def upto(n: int) -> int:  # blocks 0 .. n - 1, block 0 counted by the pattern
        return (n // PATTERN_BLOCKS) * prefix[-1] + prefix[n % PATTERN_BLOCKS]

    return upto(number) - upto(1)


def nonce_after(seed: int, chain_id: int, account: int, number: int) -> int:
    """Activity account ``account``'s nonce once block ``number`` is mined."""
    sent = sent_before(seed, chain_id, number + 1)
    return max(0, (sent - account + ACTIVITY_ACCOUNT_COUNT - 1) // ACTIVITY_ACCOUNT_COUNT)


def plans(seed: int, chain_id: int, number: int, block_hash: str) -> tuple[Plan, ...]:
    """The background transactions of block ``number`` whose hash is ``block_hash``."""
    first = sent_before(seed, chain_id, number)
    out = []
    for slot in range(count_in(seed, chain_id, number)):
        index = first + slot
        raw = derive(seed, chain_id, f"activity/{block_hash}", slot)
        sender = index % ACTIVITY_ACCOUNT_COUNT
        counterpart = (sender + 1 + raw[0] % (ACTIVITY_ACCOUNT_COUNT - 1)) % ACTIVITY_ACCOUNT_COUNT
        token = TOKENS[raw[1] % len(TOKENS)]
        whole = 1 + int.from_bytes(raw[2:6], "big") % 1000
        fraction = int.from_bytes(raw[6:14], "big") % token.unit
        out.append(
            Plan(
                sender=sender,
                nonce=index // ACTIVITY_ACCOUNT_COUNT,
                token=token,
                approve=raw[14] % APPROVE_SHARE == 0,
                counterpart=counterpart,
                amount=whole * token.unit + fraction,
                tip=derive_int(seed, chain_id, f"tip/{block_hash}", slot, 10**7, 2 * 10**9),
            )
        )
    return tuple(out)
