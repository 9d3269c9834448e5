"""The gateway's one upstream ``newHeads`` subscription, shared by every client subscription.

It runs while at least one client subscription exists (started by the first, stopped when the
last one goes; the stream state is forgotten then, so a later subscriber starts at the next
block like on any node). It picks its upstream like HTTP traffic does (strategy order within
the health tiers of :func:`~battletui.gateway.selection.tiered`: a lagging provider only when
no healthy one is there, OPEN skipped) and moves elsewhere when the socket closes or breaks,
when no head arrives within ``ws_stall_timeout``, or when the serving upstream's breaker turns
OPEN, or when the serving upstream is found lagging (its heads more than ``lag_blocks``
behind the best) while a healthy one is there: a lagging node's heads reach clients late, so
the feed does not wait for the stall timeout. Once subscribed it stays (no move back to a
"better" upstream while it serves).

Breakers: a subscription that could not be set up, broke, closed or stalled counts as one
failure for its upstream ("websocket reset", "websocket closed (1001)", "no head for 3.0s");
its first head counts as the success (so a subscription that is accepted and dropped at once
over and over opens the breaker instead of spinning). After a clean close (1000/1001, e.g. a
provider shedding its WebSocket clients) the feed resubscribes at once, on the same upstream
first while its breaker is still CLOSED; after any other loss that upstream is tried last.
With no upstream to be had it reports ``stalled`` and retries every :data:`RETRY_INTERVAL`,
then also trying OPEN breakers as a last resort, so a restored provider is found before its
breaker closes. Heads go through a :class:`HeadSequencer`: each once, in order, gaps
backfilled over HTTP (see :mod:`battletui.gateway.backfill`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from battletui.gateway.backfill import BackfillResult, Post, fetch_heads
from battletui.gateway.head_sequencer import Backfill, Head, HeadSequencer, Step
from battletui.gateway.listeners import notify
from battletui.gateway.pool import UpstreamPool
from battletui.gateway.selection import Selector, tiered
from battletui.gateway.ws_upstream import HeadSubscription, SubscribeFailed, UpstreamLost
from battletui.processes import cancel_and_wait
from battletui.protocol.errors import format_seconds
from battletui.protocol.events import BreakerState, WsFeedEvent
from battletui.scenario import GatewaySpec

__all__ = ["RETRY_INTERVAL", "WATCH_INTERVAL", "HeadFeed"]

_log = logging.getLogger(__name__)

RETRY_INTERVAL: Final = 0.5
"""Pause between rounds of subscribe attempts when no upstream could be had."""
WATCH_INTERVAL: Final = 0.05
"""How often the serving subscription is checked for a stall or an OPEN breaker."""
BACKFILL_ROUNDS: Final = 3
"""A backfill may take this many request deadlines (``GatewaySpec.timeout``) at most."""
LAGGING: Final = "its head is lagging"
_NOT_THEIR_FAULT: Final = frozenset({"breaker open", "halted", LAGGING})


@dataclass
class _Watch:
    """The serving subscription's vital signs."""

    last_head: float
    """Loop time of the last head (of the subscription's start before the first)."""
    permitted: bool
    """It holds a breaker permit not yet settled: the first head settles it as a success."""


def _span(first: int, last: int) -> str:
    return f"#{first}" if first == last else f"#{first}-#{last}"


class HeadFeed:
    """Upstream subscription, failover and sequencing; ``deliver`` gets each head once."""

    def __init__(
        self,
        spec: GatewaySpec,
        pool: UpstreamPool,
        selector: Selector,
        session: aiohttp.ClientSession,
        *,
        route: Post,
        direct: Callable[[str], Post],
        deliver: Callable[[Head], None],
        clock: Callable[[], float],
        on_event: Callable[[WsFeedEvent], None] | None = None,
        measure_wait: float | Callable[[], float] = 0.0,
    ) -> None:
        self._spec = spec
        self._measure_wait = measure_wait
        self._pool = pool
        self._selector = selector
        self._session = session
        self._route = route
        self._direct = direct
        self._deliver = deliver
        self._clock = clock
        self._on_event = on_event
        self._sequencer = HeadSequencer(spec.ws_backfill_limit)
        self._upstream: str | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._backfill_task: asyncio.Task[None] | None = None
        self._retired: set[asyncio.Task[None]] = set()

    # -- observation -------------------------------------------------------------------------

    @property
    def upstream(self) -> str | None:
        """The provider whose subscription is serving heads right now."""
        return self._upstream

    # -- lifecycle ---------------------------------------------------------------------------

    def ensure_running(self) -> None:
        if self._run_task is None:
            self._run_task = asyncio.create_task(self._run(), name="gateway-head-feed")

    def halt(self) -> None:
        """Stop the subscription and forget the stream; the tasks wind down on their own."""
        for task in (self._run_task, self._backfill_task):
            if task is not None:
                task.cancel()
                self._retire(task)
        self._run_task = None
        self._backfill_task = None
        self._upstream = None
        self._sequencer.reset()

    async def close(self) -> None:
        """Halt and wait until every task of the feed has ended."""
        self.halt()
        while self._retired:
            tasks = list(self._retired)
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                self._retired.discard(task)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in the background; :meth:`close` waits for it."""
        self._retire(asyncio.create_task(coro, name=name))

    def _retire(self, task: asyncio.Task[None]) -> None:
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    # -- events ------------------------------------------------------------------------------

    def _emit(self, kind: str, provider: str | None, detail: str) -> None:
        notify(self._on_event, WsFeedEvent(self._clock(), kind, provider, detail))

    # -- choosing and watching the upstream --------------------------------------------------

    def _current(self, owner: asyncio.Task[Any] | None) -> bool:
        """Is ``owner`` still the feed's run task (not halted or replaced meanwhile)?"""
        return owner is not None and self._run_task is owner

    async def _run(self) -> None:
        owner = asyncio.current_task()
        while True:
            try:
                await self._loop(owner)
            except Exception:
                # A bug must not end the stream for good: log it and start over.
                _log.exception("gateway head feed failed; starting over")
                if self._current(owner):
                    self._upstream = None
                await asyncio.sleep(RETRY_INTERVAL)

    async def _loop(self, owner: asyncio.Task[Any] | None) -> None:
        lost: str | None = None
        why = ""
        sticky = False
        last_resort = False
        stalled = False
        await self._await_measurements()
        while True:
            self._sequencer.hold()
            subscription, permitted, causes = await self._subscribe(
                lost, sticky=sticky, last_resort=last_resort
            )
            if subscription is None:
                if not stalled:
                    stalled = True
                    self._emit("stalled", None, "no upstream available: " + causes)
                last_resort = True
                await asyncio.sleep(RETRY_INTERVAL)
                continue
            uid = subscription.upstream.id
            watch = _Watch(asyncio.get_running_loop().time(), permitted)
            try:
                if lost is None:
                    self._emit("subscribed", uid, f"newHeads on {uid}")
                elif lost == uid:
                    self._emit("resubscribed", uid, f"again on {uid} after {why}")
                else:
                    self._emit("switch", uid, f"{lost} → {uid}: {why}")
                stalled = last_resort = False
                self._upstream = uid
                self._apply(self._sequencer.release())
                loss = await self._serve(subscription, watch, owner)
            except BaseException:
                self._settle(uid, watch, None)
                raise
            finally:
                if self._current(owner):  # a halted run leaves the next one alone
                    self._upstream = None
                    self._sequencer.hold()
                self._spawn(subscription.close(), f"gateway-ws-close-{uid}")
            self._settle(uid, watch, loss)
            lost, why, sticky = uid, loss.reason, loss.clean

    def _settle(self, uid: str, watch: _Watch, loss: UpstreamLost | None) -> None:
        """Judge a subscription that ended: a failure for its breaker unless it was not the
        upstream's doing; a permit still held (no head came) is given back then."""
        if loss is not None and loss.reason not in _NOT_THEIR_FAULT:
            self._pool.note_failure(uid, loss.reason)
        elif watch.permitted:
            self._pool.breakers[uid].release()
        watch.permitted = False

    async def _await_measurements(self) -> None:
        """Right after start nobody is measured yet, and ``fastest`` would pick at random a
        subscription that then stays for good: wait (at most ``measure_wait``) until the health
        probes have measured every upstream whose breaker is not OPEN."""
        loop = asyncio.get_running_loop()
        wait = self._measure_wait
        deadline = loop.time() + (wait() if callable(wait) else wait)
        breakers = self._pool.breakers
        while loop.time() < deadline and any(
            self._pool.latency_ms(uid) is None and breakers[uid].state is not BreakerState.OPEN
            for uid in self._pool.ids
        ):
            await asyncio.sleep(0.01)

    async def _subscribe(
        self, lost: str | None, *, sticky: bool, last_resort: bool
    ) -> tuple[HeadSubscription | None, bool, str]:
        """Try the candidates in order: the subscription and whether it holds a breaker
        permit (settled by its first head), or why nobody could serve."""
        breakers = self._pool.breakers
        tiers = tiered(self._selector.order(), self._pool)
        candidates, skipped = tiers.candidates, list(tiers.skipped)
        if lost in candidates:
            candidates.remove(lost)
            best = min(tiers.tiers.values())
            if sticky and tiers.tiers[lost] == best and breakers[lost].state is BreakerState.CLOSED:
                candidates.insert(0, lost)
            else:  # it just failed (or others are healthier): everyone else first
                candidates.append(lost)
        causes = dict(tiers.skipped)
        attempts = [(uid, True) for uid in candidates]
        if last_resort:
            attempts += [(uid, False) for uid in skipped]
        for uid, permitted in attempts:
            breaker = breakers[uid]
            if permitted and not breaker.try_acquire():
                causes[uid] = "half-open probe in flight"
                if not last_resort:
                    continue
                permitted = False
            try:
                subscription = await HeadSubscription.open(
                    self._session, self._pool.upstream(uid), timeout=self._spec.attempt_timeout
                )
            except SubscribeFailed as exc:
                causes[uid] = exc.reason
                if permitted:
                    self._pool.note_failure(uid, exc.reason)
                continue
            except BaseException:
                if permitted:
                    breaker.release()
                raise
            return subscription, permitted, ""
        if not causes:
            return None, False, "none configured"
        reasons = "; ".join(f"{uid}: {causes[uid]}" for uid in self._pool.ids if uid in causes)
        return None, False, reasons

    async def _serve(
        self, subscription: HeadSubscription, watch: _Watch, owner: asyncio.Task[Any] | None
    ) -> UpstreamLost:
        """Feed heads from ``subscription`` until it is lost; returns why."""
        loop = asyncio.get_running_loop()
        uid = subscription.upstream.id
        breaker = self._pool.breakers[uid]
        stall = self._spec.ws_stall_timeout
        was_open = breaker.state is BreakerState.OPEN  # a last-resort pick: not "turned" OPEN
        reader = asyncio.create_task(
            self._read(subscription, watch, owner), name=f"gateway-ws-read-{uid}"
        )
        try:
            while True:
                await asyncio.wait({reader}, timeout=WATCH_INTERVAL)
                if reader.done():
                    return reader.result()
                if loop.time() - watch.last_head > stall:
                    return UpstreamLost(f"no head for {format_seconds(stall)}")
                is_open = breaker.state is BreakerState.OPEN
                if is_open and not was_open:
                    return UpstreamLost("breaker open")
                if self._pool.is_lagging(uid) and self._healthy_elsewhere(uid):
                    return UpstreamLost(LAGGING)  # its heads would reach clients late
                was_open = was_open and is_open
        finally:
            await cancel_and_wait(reader)

    def _healthy_elsewhere(self, uid: str) -> bool:
        """Another upstream that is neither lagging nor OPEN: somewhere to move to."""
        pool = self._pool
        return any(
            other != uid
            and not pool.is_lagging(other)
            and pool.breakers[other].state is BreakerState.CLOSED
            for other in pool.ids
        )

    async def _read(
        self,
        subscription: HeadSubscription,
        watch: _Watch,
        owner: asyncio.Task[Any] | None,
    ) -> UpstreamLost:
        loop = asyncio.get_running_loop()
        breaker = self._pool.breakers[subscription.upstream.id]
        try:
            async for header in subscription.headers():
                if not self._current(owner):
                    return UpstreamLost("halted")
                head = Head.parse(header)
                if head is None:
                    continue  # not a header: ignored, the stall timer still runs
                watch.last_head = loop.time()
                if watch.permitted:  # it serves: that is the success (closes a half-open)
                    watch.permitted = False
                    breaker.record_success()
                self._apply(self._sequencer.offer(head))
        except UpstreamLost as lost:
            return lost
        except (aiohttp.ClientError, OSError):
            return UpstreamLost("websocket reset")
        except Exception:
            _log.exception("reading heads from %s failed", subscription.upstream.id)
            return UpstreamLost("internal error")
        return UpstreamLost("websocket reset")  # pragma: no cover - headers() never ends

    # -- sequencing and backfill -------------------------------------------------------------

    def _apply(self, step: Step) -> None:
        """Deliver a step's heads and report its gaps; start the backfill it asks for."""
        self._publish(step)
        if step.backfill is not None:
            self._backfill_task = asyncio.create_task(
                self._backfill(step.backfill), name="gateway-backfill"
            )

    def _publish(self, step: Step) -> None:
        for head in step.forward:
            self._deliver(head)
        for gap in step.gaps:
            noun = "head" if gap.count == 1 else "heads"
            self._emit(
                "gap",
                self._upstream,
                f"{gap.count} {noun} {_span(gap.first, gap.last)} could not be delivered",
            )

    async def _backfill(self, first: Backfill) -> None:
        """Fetch, hand over, repeat while the sequencer asks for more (one at a time)."""
        request: Backfill | None = first
        loop = asyncio.get_running_loop()
        while request is not None:
            started = loop.time()
            serving = self._upstream
            try:
                result = await fetch_heads(
                    request.numbers,
                    self._route,
                    direct=None if serving is None else self._direct(serving),
                    budget=BACKFILL_ROUNDS * self._spec.timeout,
                )
            except Exception:
                # Never leave the sequencer waiting: what was not fetched becomes a gap.
                _log.exception("backfill of %s failed", request.numbers)
                result = BackfillResult({}, None)
            took = (loop.time() - started) * 1000.0
            if result.heads:
                got = sorted(result.heads)
                noun = "head" if len(got) == 1 else "heads"
                what = "to find a reorg's fork point" if request.kind == "repair" else ""
                self._emit(
                    "backfill",
                    result.provider,
                    f"{len(got)} {noun} {_span(got[0], got[-1])} in {took:.0f} ms {what}".strip(),
                )
            step = self._sequencer.complete(result.heads)
            try:
                self._publish(step)
            except Exception:  # pragma: no cover - delivery guards itself; never stall
                _log.exception("delivering backfilled heads failed")
            request = step.backfill
