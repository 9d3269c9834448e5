"""Checks a stream of new heads the way a dapp would need it to be: complete and unique.

Definitions (DESIGN.md): **duplicate** = a hash already delivered; **gap** = number > last + 1
(missing = number - last - 1); **reorg** = a new hash at a number ≤ last whose parent is a
known block; **broken link** = parentHash differs from the previous hash at contiguous numbers
(or a head at an old number whose parent was never seen).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

HeadKind = Literal["ok", "first", "duplicate", "gap", "reorg", "broken_link"]

MEMORY = 4096
"""Hashes remembered for duplicate and reorg detection (bounded, oldest forgotten first)."""


@dataclass(frozen=True)
class HeadVerdict:
    kind: HeadKind
    number: int
    missing: int = 0
    """For a gap: how many numbers were skipped."""


class StreamChecker:
    def __init__(self, memory: int = MEMORY) -> None:
        self._memory = memory
        self._seen: set[str] = set()
        self._order: deque[str] = deque()
        self.first_number: int | None = None
        self.last_number: int | None = None
        self.last_hash: str | None = None
        self.heads = 0
        self.gaps = 0
        self.missing_blocks = 0
        self.duplicates = 0
        self.reorgs = 0
        self.broken_links = 0

    def check(self, number: int, block_hash: str, parent_hash: str) -> HeadVerdict:
        """Classify one head and remember it; duplicates do not move the stream on."""
        block_hash = block_hash.lower()
        parent_hash = parent_hash.lower()
        if block_hash in self._seen:
            self.duplicates += 1
            return HeadVerdict("duplicate", number)
        verdict = self._classify(number, parent_hash)
        if self.first_number is None:
            self.first_number = number
        self.heads += 1
        self._remember(block_hash)
        self.last_number = number
        self.last_hash = block_hash
        return verdict

    def _classify(self, number: int, parent_hash: str) -> HeadVerdict:
        last = self.last_number
        if last is None:
            return HeadVerdict("first", number)
        if number == last + 1:
            if parent_hash == self.last_hash:
                return HeadVerdict("ok", number)
            if parent_hash in self._seen:  # back onto a branch we had seen: a reorg
                self.reorgs += 1
                return HeadVerdict("reorg", number)
            self.broken_links += 1
            return HeadVerdict("broken_link", number)
        if number > last + 1:
            missing = number - last - 1
            self.gaps += 1
            self.missing_blocks += missing
            return HeadVerdict("gap", number, missing)
        if parent_hash in self._seen:
            self.reorgs += 1
            return HeadVerdict("reorg", number)
        self.broken_links += 1
        return HeadVerdict("broken_link", number)

    def _remember(self, block_hash: str) -> None:
        self._seen.add(block_hash)
        self._order.append(block_hash)
        if len(self._order) > self._memory:
            self._seen.discard(self._order.popleft())
