"""Subscriptions: one watcher per provider that follows the chain and fans out ``newHeads``,
``logs`` (filtered by address and topics, one notification per log, ``removed: true`` for the
logs of blocks a reorg replaced) and ``newPendingTransactions`` (hashes, or whole
transactions with ``true``; sent as the pool accepts them).

The watcher sleeps until the chain's next block boundary (it never polls), then sends every
block it has not sent yet, in order, to every subscription. A subscription only gets blocks
above the head at the moment it was made, as geth does: no replay of old heads.

Faults:

* **hang** (``pause``/``resume``): nothing is sent while paused; on resume every block
  missed is sent, in order (a stopped process that is continued).
* **lag** (the view's frozen head): nothing is sent while lagging (the blocks up to the
  frozen head were sent when the lag began); when the lag ends the provider catches up and
  sends every block after the frozen one, in order, like a node syncing.
* **reorg**: the chain calls back synchronously; if the fork point is at or below the last
  block sent, the replacement blocks (fork .. head, new hashes) are sent at once, in order,
  to every subscription, then the feed goes on with the next block. While paused or lagging
  the resend is remembered and happens on resume / catch-up, from the lowest fork point
  (for a lagging provider that is only the blocks at or below its frozen head that it had
  announced; blocks above it are announced on the new branch anyway).

While paused or lagging the watcher waits on an event (woken by ``wake``), not on the clock.
A catch-up sends the missed blocks in one burst: a connection whose subscriptions miss more
than its send-queue bound (``ws_app.QUEUE_LIMIT`` messages) is dropped as too slow (1008).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from battletui.chain import Log, MockChain, Replaced
from battletui.chain.transactions import Transaction
from battletui.processes import cancel_and_wait
from battletui.providers.get_logs import log_matches
from battletui.providers.view import ChainView

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
class LogCriteria:
    addresses: frozenset[str] | None
    topics: list[frozenset[str] | None]


@dataclass(frozen=True)
class _Subscription:
    id: str
    after: int
    """Head number when subscribed: only blocks above it are sent (reorg resends aside)."""
    deliver: Deliver
    kind: str = "newHeads"
    criteria: LogCriteria | None = None
    full: bool = False


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def notification(subscription: str, result_json: str) -> str:
    """The ``eth_subscription`` message geth sends, built around a serialised result."""
    return (
        '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":'
        f'{json.dumps(subscription)},"result":{result_json}}}}}'
    )


class HeadFeed:
    """The provider-wide head watcher and the registry of its ``newHeads`` subscriptions."""

    def __init__(
        self, chain: MockChain, seed: int, provider_id: str, view: ChainView | None = None
    ) -> None:
        self._chain = chain
        self._view = view if view is not None else ChainView(chain)
        self._ids = SubscriptionIds(seed, provider_id)
        self._name = f"heads-{provider_id}"
        self._subscriptions: dict[str, _Subscription] = {}
        self._sent = self._view.head_number()
        self._resend_from: int | None = None
        self._removed: list[Log] = []
        """Logs of replaced blocks that ``logs`` subscribers were sent: to withdraw."""
        self._paused = False
        self._wake = asyncio.Event()
        self._unlisten: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def count(self) -> int:
        """Active subscriptions."""
        return len(self._subscriptions)

    @property
    def sent(self) -> int:
        """The highest block number sent (or skipped for want of subscribers)."""
        return self._sent

    def subscribe(
        self,
        deliver: Deliver,
        kind: str = "newHeads",
        criteria: LogCriteria | None = None,
        full: bool = False,
    ) -> str:
        """A new subscription; its first notification is about the block after the current
        head (the provider's head: the frozen one while lagging), or the next transaction."""
        sid = self._ids.new()
        while sid in self._subscriptions:  # 128 random bits: never in practice
            sid = self._ids.new()
        self._subscriptions[sid] = _Subscription(
            sid, self._view.head_number(), deliver, kind, criteria, full
        )
        return sid

    def unsubscribe(self, sid: str) -> bool:
        """Forget ``sid``; True when it existed."""
        return self._subscriptions.pop(sid, None) is not None

    def start(self) -> None:
        """Start watching from the current head and listening for reorgs. Idempotent."""
        if self._task is None:
            self._sent = self._view.head_number()
            self._resend_from = None
            unlisten = (
                self._chain.on_reorg(self._on_reorg),
                self._chain.ledger.on_transaction(self._on_transaction),
            )

            def unlisten_all() -> None:
                for stop in unlisten:
                    stop()

            self._unlisten = unlisten_all
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop watching and wait for the watcher to end. Idempotent."""
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            unlisten()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    # -- faults --------------------------------------------------------------------------

    def pause(self) -> None:
        """Send nothing until ``resume`` (hang)."""
        self._paused = True

    def resume(self) -> None:
        """Send again, starting with every block missed while paused."""
        self._paused = False
        self.wake()

    def wake(self) -> None:
        """Look at the head now: after a pause, or when the view stopped lagging."""
        self._wake.set()
        self.catch_up()

    @property
    def _blocked(self) -> bool:
        return self._paused or self._view.lagging

    def _on_reorg(self, replaced: Replaced) -> None:
        if not replaced:
            return
        fork = replaced[0][0]
        if fork <= self._sent:
            pending = self._resend_from
            self._resend_from = fork if pending is None else min(pending, fork)
            if any(s.kind == "logs" for s in self._subscriptions.values()):
                ledger = self._chain.ledger
                for number, old_hash, _ in replaced:
                    if number <= self._sent:
                        self._removed += ledger.body(number, old_hash).logs
        self.catch_up()

    def _on_transaction(self, tx: Transaction) -> None:
        for sub in list(self._subscriptions.values()):
            if sub.kind == "pending" and self._subscriptions.get(sub.id) is sub:
                result = _dumps(tx.to_json(None)) if sub.full else _dumps(tx.hash)
                sub.deliver(notification(sub.id, result))

    # -- sending -------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Send every block above the last one sent, up to the head, in order; after a
        reorg, first every replaced block from the fork point. Nothing while paused or
        lagging."""
        if self._blocked:
            return
        head = self._view.head_number()
        first = self._sent + 1
        resending = self._resend_from is not None and self._resend_from <= head
        if resending:
            assert self._resend_from is not None
            first = self._resend_from
        self._resend_from = None
        if head < first:
            return
        self._sent = max(self._sent, head)
        subscriptions = list(self._subscriptions.values())
        if not subscriptions:
            return
        if not resending:
            first = max(first, min(s.after for s in subscriptions) + 1)
        removed, self._removed = self._removed, []
        if removed:
            self._send_logs(subscriptions, removed, removed=True)
        for number in range(first, head + 1):
            block = self._chain.block(number)
            assert block is not None  # at or below the head
            header: str | None = None
            for sub in subscriptions:
                # A delivery can end another subscription (a slow reader being dropped).
                wanted = resending or sub.after < number
                if not wanted or self._subscriptions.get(sub.id) is not sub:
                    continue
                if sub.kind == "newHeads":
                    header = header or _dumps(block.header_json())
                    sub.deliver(notification(sub.id, header))
                elif sub.kind == "logs":
                    self._send_logs([sub], self._chain.logs_at(number))

    def _send_logs(
        self,
        subscriptions: list[_Subscription],
        logs: tuple[Log, ...] | list[Log],
        removed: bool = False,
    ) -> None:
        for sub in subscriptions:
            criteria = sub.criteria
            if sub.kind != "logs" or criteria is None:
                continue
            for log in logs:
                if self._subscriptions.get(sub.id) is not sub:
                    break
                if log_matches(log, criteria.addresses, criteria.topics):
                    body = log.to_json()
                    if removed:
                        body = {**body, "removed": True}
                    sub.deliver(notification(sub.id, _dumps(body)))

    async def _run(self) -> None:
        while True:
            if self._blocked:
                self._wake.clear()
                await self._wake.wait()
            else:
                wait = self._chain.seconds_until(self._sent + 1)
                await asyncio.sleep(max(wait, MIN_WAKE))
            self.catch_up()
