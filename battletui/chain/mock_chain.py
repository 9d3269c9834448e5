"""The mock chain: one block per ``block_time`` from construction, every byte from the seed.

Reorgs: ``reorg(depth)`` replaces the last ``depth`` blocks. Every block from the fork point
on (the replaced ones and every later one) moves to a new *generation*, and a block's bytes
are derived from ``(seed, chain id, number, generation)``. The generation of block ``n`` is
the number of reorgs whose fork point is at or below ``n``, so the chain needs only the
sorted list of fork points (one int per reorg) to be a pure function again: two chains with
the same seed that apply the same reorgs at the same heads have the same hashes.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Final

from battletui.chain.block import ZERO_HASH, Block
from battletui.chain.derive import derive
from battletui.chain.fees import base_fee
from battletui.chain.hexutil import data
from battletui.chain.ledger import Ledger
from battletui.chain.logs import Log
from battletui.chain.tokens import TOKENS

CACHE_SIZE: Final = 2048
"""Blocks kept built (and findable by hash); bounded so an hour-long session stays flat."""

HASH_SCAN_DEPTH: Final = 256
"""How far below the head ``block_by_hash`` recomputes hashes on a cache miss."""

MAX_REORG_DEPTH: Final = 256
"""Deepest reorg ``reorg()`` accepts (as deep as ``block_by_hash`` looks)."""

ORPHAN_LIMIT: Final = 1024
"""Orphaned (reorged-out) hashes ``block_by_hash`` rejects without scanning; the oldest are
forgotten first (they then just cost a scan, which misses as before)."""

Replaced = list[tuple[int, str, str]]
"""``(number, old hash, new hash)`` per replaced block, in ascending number order."""

ReorgListener = Callable[[Replaced], None]
"""Called synchronously by ``reorg()`` once the new branch is in place."""


class MockChain:
    """A deterministic chain: block hashes depend only on ``(seed, chain_id, number)`` and
    the reorgs applied so far.

    Blocks ``0..head`` exist; the head is ``first_block`` at construction and advances by one
    every ``block_time`` seconds of ``clock``. Everything else is derived on demand, so the
    chain itself holds no history, only a bounded cache and the fork points of its reorgs.
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
        origin: float | None = None,
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
        self._t0 = clock() if origin is None else origin
        self._blocks: OrderedDict[int, Block] = OrderedDict()
        self._numbers_by_hash: dict[str, int] = {}
        self._orphans: OrderedDict[str, None] = OrderedDict()
        self._forks: list[int] = []
        self._fork_times: list[tuple[int, float]] = []
        """``(fork point, clock time)`` of every reorg, in the order applied."""
        self._listeners: list[ReorgListener] = []
        self.ledger = Ledger(
            seed,
            chain_id,
            first_block,
            hash_of=self.hash_of,
            base_fee_of=self.base_fee_of,
            head=self.head_number,
        )

    # -- the head --------------------------------------------------------------------------

    def head_number(self) -> int:
        """The current head: ``first_block`` plus whole block times elapsed."""
        elapsed = max(0.0, self._clock() - self._t0)
        return self.first_block + math.floor(elapsed / self.block_time)

    @property
    def origin(self) -> float:
        """The clock time block ``first_block`` became the head: a replica of this chain in
        another process (same seed, same clock) starts from it to agree on every head."""
        return self._t0

    def head_at(self, when: float) -> int:
        """The head at clock time ``when`` (reorgs do not move it)."""
        return self.first_block + math.floor(max(0.0, when - self._t0) / self.block_time)

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

    # -- blocks ----------------------------------------------------------------------------

    def block(self, number: int) -> Block | None:
        """Block ``number``, or None below 0 or above the current head."""
        if number < 0 or number > self.head_number():
            return None
        return self._build(number)

    def block_by_hash(self, hash_hex: str) -> Block | None:
        """The block with this hash among recent canonical blocks (cache, then a bounded
        scan); None for unknown, future and orphaned (reorged-out) hashes."""
        wanted = hash_hex.lower()
        if wanted in self._orphans:  # a block hash never comes back once reorged out
            return None
        number = self._numbers_by_hash.get(wanted)
        head = self.head_number()
        if number is not None:
            return self._build(number) if number <= head else None
        for candidate in range(head, max(-1, head - HASH_SCAN_DEPTH), -1):
            if self.hash_of(candidate) == wanted:
                return self._build(candidate)
        return None

    def hash_of(self, number: int) -> str:
        """The hash of block ``number`` on the current branch (pure; no head check)."""
        if number < 0:
            return ZERO_HASH
        return data(derive(self.seed, self.chain_id, self._label("hash", number), number))

    def timestamp_of(self, number: int) -> int:
        """Unix seconds of block ``number``: genesis time plus block times since ``first_block``."""
        offset = (number - self.first_block) * self.block_time
        return max(0, math.floor(self.genesis_timestamp + offset))

    def base_fee_of(self, number: int) -> int:
        """The base fee of block ``number`` on the current branch (pure; no head check)."""
        return base_fee(self.seed, self.chain_id, self._label("basefee", number), number)

    def logs(self, number: int) -> tuple[Log, ...]:
        """The logs of block ``number``'s receipts; none above the head or below 0."""
        if number < 0 or number > self.head_number():
            return ()
        return self.logs_at(number)

    def logs_at(self, number: int) -> tuple[Log, ...]:
        """``logs(number)`` without the head check, for a caller that has clamped its range
        to the head once (``number`` >= 0); read off the block cache."""
        body = self._build(number).body
        return () if body is None else body.logs

    @property
    def contracts(self) -> tuple[str, ...]:
        """Addresses of the contracts whose events fill the logs (the two tokens)."""
        return tuple(token.address for token in TOKENS)

    # -- reorgs ----------------------------------------------------------------------------

    @property
    def reorg_count(self) -> int:
        """Reorgs applied so far."""
        return len(self._forks)

    def generation(self, number: int) -> int:
        """How many reorgs have replaced block ``number`` (0 for the original block)."""
        return bisect.bisect_right(self._forks, number)

    def reorg(self, depth: int) -> Replaced:
        """Replace the last ``depth`` blocks (``head - depth + 1`` .. ``head``) with a new
        branch; later blocks build on it. Returns ``(number, old hash, new hash)`` per
        replaced block and tells every listener before returning.

        Block ``head - depth + 1`` keeps its parent (the unchanged block below the fork).
        Orphaned hashes are not found by ``block_by_hash`` any more.
        """
        if not 1 <= depth <= MAX_REORG_DEPTH:
            raise ValueError(f"reorg depth must be 1..{MAX_REORG_DEPTH}, got {depth}")
        head = self.head_number()
        if depth > head:
            raise ValueError(f"reorg depth {depth} would replace the genesis block")
        return self.fork_at(head - depth + 1)

    def fork_at(self, fork: int, at: float | None = None) -> Replaced:
        """Replace blocks ``fork`` .. head with a new branch (``reorg`` by fork point, as a
        replica applies the reorgs its lab reports; ``at`` is when it happened there)."""
        head = self.head_number()
        if not 1 <= fork <= head:
            raise ValueError(f"fork point {fork} outside 1..{head}")
        old = [(n, self.hash_of(n)) for n in range(fork, head + 1)]
        bisect.insort(self._forks, fork)
        self._fork_times.append((fork, self._clock() if at is None else at))
        self._drop_from(fork)
        self.ledger.forget_from(fork)
        self._remember_orphans(old_hash for _, old_hash in old)
        replaced = [(n, old_hash, self.hash_of(n)) for n, old_hash in old]
        for listener in list(self._listeners):
            listener(replaced)
        return replaced

    def include_transaction(self, raw: bytes, number: int) -> None:
        """A replica's copy of a transaction its lab put into block ``number``."""
        self.ledger.include(raw, number)
        self._drop_from(number)

    @property
    def fork_times(self) -> tuple[tuple[int, float], ...]:
        return tuple(self._fork_times)

    def hash_as_of(self, number: int, when: float) -> str:
        """The hash block ``number`` had at clock time ``when`` (before later reorgs)."""
        generation = sum(1 for fork, at in self._fork_times if fork <= number and at <= when)
        label = "hash" if generation == 0 else f"hash/g{generation}"
        return data(derive(self.seed, self.chain_id, label, number))

    def on_reorg(self, listener: ReorgListener) -> Callable[[], None]:
        """Call ``listener`` after every reorg; returns the function that unregisters it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    # -- internals -------------------------------------------------------------------------

    def _label(self, base: str, number: int) -> str:
        """Derivation label of a field of block ``number`` in its current generation
        (generation 0 keeps the plain label: a chain without reorgs is unchanged)."""
        generation = self.generation(number)
        return base if generation == 0 else f"{base}/g{generation}"

    def _drop_from(self, fork: int) -> None:
        """Forget cached blocks at or above ``fork``: they belong to the old branch."""
        stale = [n for n in self._blocks if n >= fork]
        for number in stale:
            block = self._blocks.pop(number)
            self._numbers_by_hash.pop(block.hash, None)

    def _remember_orphans(self, hashes: Iterable[str]) -> None:
        """Keep the newest ``ORPHAN_LIMIT`` orphaned hashes for ``block_by_hash``."""
        for orphan in hashes:
            self._orphans[orphan] = None
        while len(self._orphans) > ORPHAN_LIMIT:
            self._orphans.popitem(last=False)

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

        def field(base: str) -> bytes:
            return derive(seed, chain_id, self._label(base, number), number)

        block_hash = self.hash_of(number)
        return Block(
            number=number,
            hash=block_hash,
            parent_hash=self.hash_of(number - 1),
            timestamp=self.timestamp_of(number),
            state_root=data(field("state")),
            mix_hash=data(field("randao")),
            parent_beacon_block_root=data(field("beacon")),
            miner=data(field("miner")[:20]),
            base_fee_per_gas=self.base_fee_of(number),
            body=self.ledger.body(number, block_hash),
        )
