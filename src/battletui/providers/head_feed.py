"""``newHeads``: one watcher per provider that follows the chain and fans heads out.

The watcher sleeps until the chain's next block boundary (it never polls), then sends every
block it has not sent yet, in order, to every subscription. A subscription only gets blocks
above the head at the moment it was made, as geth does: no replay of old heads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from battletui.chain import MockChain

MIN_WAKE: Final = 0.001
"""Shortest sleep between two looks at the head, so a clock that sits on a block boundary
(a test's frozen clock, float rounding) cannot turn the watcher into a busy loop."""

Deliver = Callable[[str], None]
"""Takes one notification, already serialised; must not block (it only enqueues)."""


class SubscriptionIds:
    """Subscription ids as geth shapes them (``0x`` and 32 hex digits), from a seed."""

    def __init__(self, seed: int, provider_id: str) -> None:
        self._rng = random.Random(f"battletui/subscriptions/{seed}/{provider_id}")

    def new(self) -> str:
        return f"0x{self._rng.getrandbits(128):032x}"


@dataclass(frozen=True)
class _Subscription:
    id: str
    after: int
    """Head number when subscribed: only blocks above it are sent."""
    deliver: Deliver


def notification(subscription: str, result_json: str) -> str:
    """The ``eth_subscription`` message geth sends, built around a serialised result."""
    return (
        '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":'
        f'{json.dumps(subscription)},"result":{result_json}}}}}'
    )


class HeadFeed:
    """The provider-wide head watcher and the registry of its ``newHeads`` subscriptions."""

    def __init__(self, chain: MockChain, seed: int, provider_id: str) -> None:
        self._chain = chain
        self._ids = SubscriptionIds(seed, provider_id)
        self._name = f"heads-{provider_id}"
        self._subscriptions: dict[str, _Subscription] = {}
        self._sent = chain.head_number()
        self._task: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        """Active subscriptions."""
        return len(self._subscriptions)

    def subscribe(self, deliver: Deliver) -> str:
        """A new subscription; its first notification is the block after the current head."""
        sid = self._ids.new()
        while sid in self._subscriptions:  # 128 random bits: never in practice
            sid = self._ids.new()
        self._subscriptions[sid] = _Subscription(sid, self._chain.head_number(), deliver)
        return sid

    def unsubscribe(self, sid: str) -> bool:
        """Forget ``sid``; True when it existed."""
        return self._subscriptions.pop(sid, None) is not None

    def start(self) -> None:
        """Start watching from the current head. Idempotent."""
        if self._task is None:
            self._sent = self._chain.head_number()
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop watching and wait for the watcher to end. Idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def catch_up(self) -> None:
        """Send every block above the last one sent, up to the head, in order."""
        head = self._chain.head_number()
        if head <= self._sent:
            return
        first, self._sent = self._sent + 1, head
        subscriptions = list(self._subscriptions.values())
        if not subscriptions:
            return
        first = max(first, min(s.after for s in subscriptions) + 1)
        for number in range(first, head + 1):
            block = self._chain.block(number)
            assert block is not None  # at or below the head
            header = json.dumps(block.header_json(), separators=(",", ":"))
            for sub in subscriptions:
                # A delivery can end another subscription (a slow reader being dropped).
                if sub.after < number and self._subscriptions.get(sub.id) is sub:
                    sub.deliver(notification(sub.id, header))

    async def _run(self) -> None:
        while True:
            wait = self._chain.seconds_until(self._sent + 1)
            await asyncio.sleep(max(wait, MIN_WAKE))
            self.catch_up()
