"""Ordering the newHeads stream: each head once, in order, gaps backfilled, never invented.

Pure logic, no sockets and no clock: the feed offers heads as they arrive (from whichever
upstream is serving), the sequencer says what to forward to clients, which numbers to fetch
over HTTP to fill a gap, and which numbers are lost for good. While a backfill or an upstream
switch is in progress, live heads wait in a small buffer and are released in number order.

Rules, with ``last`` the most recently forwarded head:

* the very first head is forwarded as is;
* a hash already forwarded is dropped (duplicates after a switch die here);
* ``number == last + 1`` and ``parentHash == last.hash``: forwarded;
* ``number <= last`` with a new hash (a reorg): forwarded, and it becomes ``last``;
* ``number > last + 1`` (a gap): the missing numbers are fetched first, at most
  ``backfill_limit`` of them (the most recent; older ones are reported as a gap);
* ``number == last + 1`` with a parent the stream never linked to (a reorg the feed did not
  see, e.g. it happened during a switch): the last few numbers are re-fetched once, so the
  replaced blocks reach clients as an ordinary reorg; if that does not link the head either,
  it is forwarded anyway (honest, the client sees the broken link).
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from battletui.protocol.jsonrpc import parse_quantity

__all__ = [
    "BLOCK_ONLY_FIELDS",
    "Backfill",
    "Gap",
    "Head",
    "HeadSequencer",
    "Step",
    "header_from_block",
]

BLOCK_ONLY_FIELDS: Final = ("transactions", "uncles", "size", "totalDifficulty", "withdrawals")
"""Block fields a geth ``newHeads`` header does not carry."""

REMEMBER: Final = 256
"""Recently forwarded heads kept for de-duplication and parent links."""
BUFFER_LIMIT: Final = 1024
"""Live heads held during a backfill or switch; beyond it the oldest are dropped (and then
fetched again as an ordinary gap, within the backfill limit)."""
REPAIR_DEPTH: Final = 8
"""Numbers re-fetched to find the fork point when a head does not link to the stream."""


@dataclass(frozen=True)
class Head:
    """One header: the fields sequencing needs, and the header exactly as clients get it.

    Hashes are compared lower-cased; the header keeps whatever spelling the provider used.
    """

    number: int
    hash: str
    parent_hash: str
    header: Mapping[str, Any] = field(compare=False, repr=False)

    @classmethod
    def parse(cls, header: Any) -> Head | None:
        """A head from a geth-style header object; ``None`` when it is not one."""
        if not isinstance(header, dict):
            return None
        number = parse_quantity(header.get("number"))
        block_hash = header.get("hash")
        parent_hash = header.get("parentHash")
        if number is None or not isinstance(block_hash, str) or not isinstance(parent_hash, str):
            return None
        return cls(number, block_hash.lower(), parent_hash.lower(), header)


def header_from_block(block: Any) -> Head | None:
    """A head from an ``eth_getBlockByNumber`` block, shaped exactly like a live header."""
    if not isinstance(block, dict):
        return None
    header = {k: v for k, v in block.items() if k not in BLOCK_ONLY_FIELDS}
    return Head.parse(header)


@dataclass(frozen=True)
class Gap:
    """Numbers ``first`` … ``last`` (inclusive) that clients will never get."""

    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Backfill:
    """Numbers to fetch over HTTP, then hand to :meth:`HeadSequencer.complete`."""

    numbers: range
    kind: Literal["gap", "repair"]
    """``gap``: numbers never forwarded; ``repair``: re-fetch to find a fork point."""


@dataclass(frozen=True)
class Step:
    """What to do after one call: forward these heads in order, report gaps, maybe fetch."""

    forward: tuple[Head, ...] = ()
    gaps: tuple[Gap, ...] = ()
    backfill: Backfill | None = None
    """A backfill this step started: fetch it, then call :meth:`HeadSequencer.complete`."""
    duplicates: int = 0
    """Heads dropped because they were already forwarded."""


class _Out:
    def __init__(self) -> None:
        self.forward: list[Head] = []
        self.gaps: list[Gap] = []
        self.duplicates = 0

    def gap(self, numbers: range) -> None:
        if numbers:
            self.gaps.append(Gap(numbers[0], numbers[-1]))

    def step(self, backfill: Backfill | None) -> Step:
        return Step(tuple(self.forward), tuple(self.gaps), backfill, self.duplicates)


class _BoundedSet:
    """Insertion-ordered set that forgets its oldest members beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def add(self, item: str) -> None:
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class HeadSequencer:
    """The stream state of one gateway feed (see the module docstring for the rules)."""

    def __init__(
        self,
        backfill_limit: int,
        *,
        remember: int = REMEMBER,
        buffer_limit: int = BUFFER_LIMIT,
        repair_depth: int = REPAIR_DEPTH,
    ) -> None:
        self._limit = max(0, backfill_limit)
        self._buffer_limit = max(1, buffer_limit)
        self._repair_depth = max(0, repair_depth)
        self._seen = _BoundedSet(max(1, remember))
        self._repaired = _BoundedSet(64)
        self._last: tuple[int, str] | None = None
        self._pending: list[tuple[int, int, Head]] = []
        self._pending_hashes: set[str] = set()
        self._order = itertools.count()
        self._held = False
        self._waiting: Backfill | None = None
        self._gaps_accepted_to = -1
        """Heads up to this number may follow a gap without a new backfill (already tried)."""

    # -- state -------------------------------------------------------------------------------

    @property
    def last(self) -> tuple[int, str] | None:
        """Number and hash of the most recently forwarded head."""
        return self._last

    @property
    def waiting(self) -> Backfill | None:
        """The backfill the sequencer waits for, if any."""
        return self._waiting

    @property
    def buffered(self) -> int:
        """Live heads waiting for a backfill or switch to end."""
        return len(self._pending)

    def reset(self) -> None:
        """Forget everything: the next head is a first head again."""
        self._seen.clear()
        self._repaired.clear()
        self._last = None
        self._pending.clear()
        self._pending_hashes.clear()
        self._held = False
        self._waiting = None
        self._gaps_accepted_to = -1

    # -- input -------------------------------------------------------------------------------

    def offer(self, head: Head) -> Step:
        """A live head arrived: forward it (and anything it releases), buffer it, or drop it."""
        out = _Out()
        if head.hash in self._seen or head.hash in self._pending_hashes:
            out.duplicates += 1
            return out.step(None)
        self._push(head)
        return out.step(self._drain(out))

    def hold(self) -> None:
        """An upstream switch began: buffer live heads until :meth:`release`."""
        self._held = True

    def release(self) -> Step:
        """The switch is over: process what was buffered, in number order."""
        self._held = False
        out = _Out()
        return out.step(self._drain(out))

    def complete(self, fetched: Mapping[int, Head]) -> Step:
        """The backfill asked for is done; ``fetched`` holds the heads it could get.

        Numbers of a ``gap`` backfill that could not be fetched are reported as a gap and
        skipped; nothing is ever invented.
        """
        out = _Out()
        request, self._waiting = self._waiting, None
        if request is None:
            return out.step(self._drain(out))
        missing: list[int] = []
        for number in request.numbers:
            head = fetched.get(number)
            if head is None or head.number != number:
                missing.append(number)
                continue
            self._take_fetched(head, out)
        if request.kind == "gap":
            for run in _runs(missing):
                out.gap(run)
        self._gaps_accepted_to = max(self._gaps_accepted_to, request.numbers[-1] + 1)
        return out.step(self._drain(out))

    # -- internals ---------------------------------------------------------------------------

    def _push(self, head: Head) -> None:
        heapq.heappush(self._pending, (head.number, next(self._order), head))
        self._pending_hashes.add(head.hash)
        while len(self._pending) > self._buffer_limit:
            _, _, dropped = heapq.heappop(self._pending)
            self._pending_hashes.discard(dropped.hash)

    def _pop(self) -> Head:
        _, _, head = heapq.heappop(self._pending)
        self._pending_hashes.discard(head.hash)
        return head

    def _forward(self, head: Head, out: _Out) -> None:
        self._last = (head.number, head.hash)
        self._seen.add(head.hash)
        out.forward.append(head)

    def _take_fetched(self, head: Head, out: _Out) -> None:
        """A backfilled head: forwarded unless already seen; never triggers another fetch."""
        if head.hash in self._seen:
            return
        if head.hash in self._pending_hashes:  # the live copy waits in the buffer: use this one
            self._pending = [p for p in self._pending if p[2].hash != head.hash]
            heapq.heapify(self._pending)
            self._pending_hashes.discard(head.hash)
        self._forward(head, out)

    def _drain(self, out: _Out) -> Backfill | None:
        """Process buffered heads in number order; the backfill it had to start, if any."""
        while self._waiting is None and not self._held and self._pending:
            head = self._pop()
            self._waiting = self._process(head, out)
            if self._waiting is not None:
                self._push(head)  # it goes out after the backfill, in number order
                return self._waiting
        return None

    def _process(self, head: Head, out: _Out) -> Backfill | None:
        if self._last is None:
            self._forward(head, out)
            return None
        if head.hash in self._seen:
            out.duplicates += 1
            return None
        last_number, last_hash = self._last
        if head.number <= last_number:  # a reorg: clients classify it themselves
            self._forward(head, out)
            return None
        if head.number == last_number + 1:
            if head.parent_hash == last_hash or head.parent_hash in self._seen:
                self._forward(head, out)
                return None
            return self._repair(head, out)
        missing = range(last_number + 1, head.number)
        if head.number <= self._gaps_accepted_to:  # fetching was tried: an honest gap
            self._forward(head, out)
            return None
        keep = missing[len(missing) - self._limit :] if self._limit else range(0)
        out.gap(missing[: len(missing) - len(keep)])
        if not keep:
            self._forward(head, out)
            return None
        return Backfill(keep, "gap")

    def _repair(self, head: Head, out: _Out) -> Backfill | None:
        last_number = head.number - 1
        depth = min(self._repair_depth, self._limit, last_number + 1)
        if depth <= 0 or head.hash in self._repaired:
            self._forward(head, out)  # cannot link it: forward anyway, never hold it back
            return None
        self._repaired.add(head.hash)
        return Backfill(range(last_number - depth + 1, last_number + 1), "repair")


def _runs(numbers: list[int]) -> list[range]:
    """Ascending numbers grouped into contiguous runs."""
    runs: list[range] = []
    start = previous = None
    for number in numbers:
        if start is None or previous is None or number != previous + 1:
            if start is not None and previous is not None:
                runs.append(range(start, previous + 1))
            start = number
        previous = number
    if start is not None and previous is not None:
        runs.append(range(start, previous + 1))
    return runs
