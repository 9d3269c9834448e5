"""The mock chain: one block per ``block_time`` from construction, every byte from the seed."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from battletui.chain.block import ZERO_HASH, Block
from battletui.chain.derive import derive, derive_int
from battletui.chain.hexutil import data

CACHE_SIZE: Final = 2048
"""Blocks kept built (and findable by hash); bounded so an hour-long session stays flat."""

HASH_SCAN_DEPTH: Final = 256
"""How far below the head ``block_by_hash`` recomputes hashes on a cache miss."""


class MockChain:
    """A deterministic chain: block hashes depend only on ``(seed, chain_id, number)``.

    Blocks ``0..head`` exist; the head is ``first_block`` at construction and advances by one
    every ``block_time`` seconds of ``clock``. Everything else is derived on demand, so the
    chain itself holds no history, only a bounded cache.
    """

    def __init__(
        self,
        seed: int,
        chain_id: int = 1,
        block_time: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        first_block: int = 1000,
        genesis_timestamp: int | None = None,
    ) -> None:
        if block_time <= 0:
            raise ValueError(f"block_time must be positive, got {block_time}")
        if first_block < 0:
            raise ValueError(f"first_block must be >= 0, got {first_block}")
        self.seed = seed
        self.chain_id = chain_id
        self.block_time = block_time
        self.first_block = first_block
        self.genesis_timestamp = (
            int(time.time()) if genesis_timestamp is None else genesis_timestamp
        )
        self._clock = clock
        self._t0 = clock()
        self._blocks: OrderedDict[int, Block] = OrderedDict()
        self._numbers_by_hash: dict[str, int] = {}

    def head_number(self) -> int:
        """The current head: ``first_block`` plus whole block times elapsed."""
        elapsed = max(0.0, self._clock() - self._t0)
        return self.first_block + math.floor(elapsed / self.block_time)

    def seconds_until(self, number: int) -> float:
        """Seconds of ``clock`` until block ``number`` becomes the head; 0 once it has.

        Lets a head watcher sleep to the next block boundary instead of polling.
        """
        if number <= self.head_number():
            return 0.0
        due = self._t0 + (number - self.first_block) * self.block_time
        return max(0.0, due - self._clock())

    def head(self) -> Block:
        """The current head block."""
        block = self.block(self.head_number())
        assert block is not None  # the head always exists
        return block

    def block(self, number: int) -> Block | None:
        """Block ``number``, or None below 0 or above the current head."""
        if number < 0 or number > self.head_number():
            return None
        return self._build(number)

    def block_by_hash(self, hash_hex: str) -> Block | None:
        """The block with this hash among recent blocks (cache, then a bounded scan)."""
        wanted = hash_hex.lower()
        number = self._numbers_by_hash.get(wanted)
        head = self.head_number()
        if number is not None:
            return self._build(number) if number <= head else None
        for candidate in range(head, max(-1, head - HASH_SCAN_DEPTH), -1):
            if self.hash_of(candidate) == wanted:
                return self._build(candidate)
        return None

    def hash_of(self, number: int) -> str:
        """The hash of block ``number`` (pure; no head check)."""
        if number < 0:
            return ZERO_HASH
        return data(derive(self.seed, self.chain_id, "hash", number))

    def timestamp_of(self, number: int) -> int:
        """Unix seconds of block ``number``: genesis time plus block times since ``first_block``."""
        offset = (number - self.first_block) * self.block_time
        return max(0, math.floor(self.genesis_timestamp + offset))

    def _build(self, number: int) -> Block:
        cached = self._blocks.get(number)
        if cached is not None:
            self._blocks.move_to_end(number)
            return cached
        block = self._make(number)
        self._blocks[number] = block
        self._numbers_by_hash[block.hash] = number
        while len(self._blocks) > CACHE_SIZE:
            _, evicted = self._blocks.popitem(last=False)
            self._numbers_by_hash.pop(evicted.hash, None)
        return block

    def _make(self, number: int) -> Block:
        seed, chain_id = self.seed, self.chain_id
        return Block(
            number=number,
            hash=self.hash_of(number),
            parent_hash=self.hash_of(number - 1),
            timestamp=self.timestamp_of(number),
            state_root=data(derive(seed, chain_id, "state", number)),
            mix_hash=data(derive(seed, chain_id, "randao", number)),
            parent_beacon_block_root=data(derive(seed, chain_id, "beacon", number)),
            miner=data(derive(seed, chain_id, "miner", number)[:20]),
            base_fee_per_gas=derive_int(
                seed, chain_id, "basefee", number, 1_000_000_000, 30_000_000_000
            ),
        )
