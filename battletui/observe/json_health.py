"""The JSON health observer: a gateway's health URL in the documented format (the reference
gateway's ``GET /health``, see ``docs/observers.md``) and, optionally, its ``/events`` stream.

Two sources, both over sockets:

* the health URL, polled twice a second (httpx, the declared client for what is not the
  measured hot path), gives the current picture: strategy, each upstream's breaker and how
  long it stays open, rate limits, lag, and the WebSocket feed's upstream;
* the event stream (a WebSocket, the reference gateway's) gives every breaker transition,
  failover, feed switch and health note as it happens, as the gateway's own values
  (:class:`~battletui.protocol.events.BreakerTransition`, ``FailoverEvent``, ``WsFeedEvent``,
  ``GatewayEvent``) handed to the recorder's callbacks. A transition also updates the picture
  at once; a poll answered before the transition (by the gateway's clock) does not undo it.
  When the stream drops while the gateway lives, it reconnects and asks for what it missed
  (``?since=N``).

The gateway names its upstreams its own way; ``upstream_names`` maps them to the lab's
provider ids (a name not listed is taken as an id) and names that are no provider are ignored.
Times in the events are the gateway's clock (``time.monotonic`` there; on Linux one
CLOCK_MONOTONIC for every process), so the engine turns them into session offsets as if the
gateway were local.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, Final, Self

import httpx
import websockets
from websockets.asyncio.client import connect

from battletui.observe.base import (
    CannotSwitch,
    ObserverCallbacks,
    ObserverError,
    one_line,
    tell,
)
from battletui.observe.view import UNKNOWN, UNKNOWN_UPSTREAM, GatewayView, UpstreamView
from battletui.processes import cancel_and_wait
from battletui.protocol.event_format import (
    BREAKER,
    FAILOVERS,
    GATEWAY,
    HELLO,
    WS_FEED,
    decode_failovers,
    decode_gateway,
    decode_transition,
    decode_ws_feed,
)
from battletui.protocol.events import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent

__all__ = ["POLL_INTERVAL", "GatewayObserver", "JsonHealthObserver"]

_log = logging.getLogger(__name__)

POLL_INTERVAL: Final = 0.5
"""Seconds between health polls. Transitions arrive on the event stream at once; the poll
keeps what only the health URL says (time left open, lag, Retry-After) fresh. It runs on the
engine's measuring loop, so it is kept sparse."""
REQUEST_TIMEOUT: Final = 1.0
"""One request (or opening the event stream) gives up after this."""
STALE_AFTER: Final = 2.0
"""A health answer older than this says nothing any more: the view turns UNKNOWN."""
VERIFY_DEADLINE: Final = 2.0
"""How long a change may take to show in the health URL before it counts as not applied."""
_MIN_POLL_GAP: Final = 0.05
"""Events ask for an early poll; never more often than this."""
_RECONNECT: Final = (0.1, 1.0)
"""First and longest wait before reopening a dropped event stream."""
_MAX_MESSAGE: Final = 16 * 1024 * 1024
_SETTLE_KINDS: Final = frozenset({GATEWAY, WS_FEED})
"""Events after which the health URL is re-read at once (strategy, feed upstream, lag)."""
_FEED_SERVING: Final = frozenset({"subscribed", "resubscribed", "switch"})


@dataclass
class _Upstream:
    breaker: str = UNKNOWN
    open_until: float | None = None
    """Local monotonic time an OPEN breaker closes its door until."""
    breaker_at: float = -math.inf
    """Gateway time of the newest fact about the breaker (poll or transition)."""
    limited_until: float | None = None
    lag: int | None = None
    lagging: bool = False


class JsonHealthObserver:
    """Polls ``health_url`` and, when given, follows ``events_url`` for ``provider_ids``.

    ``strategy_url`` (the reference gateway's ``POST /admin/strategy``) makes the strategy
    switchable; without it :meth:`set_strategy` says the gateway cannot be switched.
    Callbacks run on the engine's loop, in the gateway's order; one that raises is logged and
    never stops the stream.
    """

    def __init__(
        self,
        health_url: str,
        provider_ids: Sequence[str],
        *,
        events_url: str | None = None,
        strategy_url: str | None = None,
        upstream_names: Mapping[str, str] | None = None,
        callbacks: ObserverCallbacks | None = None,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.health_url = health_url
        self.events_url = events_url
        self.strategy_url = strategy_url
        self._ids = tuple(provider_ids)
        self._names = dict(upstream_names or {})
        self._callbacks = callbacks or ObserverCallbacks()
        self._interval = poll_interval
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False)
        self._upstreams = {uid: _Upstream() for uid in self._ids}
        self._strategy: str | None = None
        self._ws_upstream: str | None = None
        self._ws_observed = False
        self._health_local = -math.inf
        self._reachable = False
        self._seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._answered = asyncio.Event()
        self._greeted = asyncio.Event()
        self.connected = False
        """The event stream is open."""
        self.missed_events = 0
        """Events the gateway no longer had when the stream reconnected."""
        self.omitted_failovers = 0
        """Failovers the gateway only counted (more than it itemises per message)."""
        self.bad_messages = 0
        """Event messages that did not have the documented shape (logged, skipped)."""

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return ["health", "events"] if self.events_url else ["health"]

    async def start(self) -> None:
        """Start polling (and following the event stream); returns at once."""
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._poll_loop(), name="observer-health")]
        if self.events_url:
            self._tasks.append(asyncio.create_task(self._follow_events(), name="observer-events"))

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Until the health URL has answered and the event stream (if any) is open;
        ObserverError (one line) when that does not happen within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._answered.wait()
                if self.events_url:
                    await self._greeted.wait()
        except TimeoutError:
            what = (
                f"event stream {self.events_url}"
                if self._answered.is_set()
                else f"health URL {self.health_url}"
            )
            raise ObserverError(
                f"the gateway's {what} did not answer within {timeout:g}s"
            ) from None

    async def stop(self) -> None:
        """Stop polling and close the stream and the client. Idempotent."""
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks, swallow=True)
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the view ----------------------------------------------------------------------------

    @property
    def view(self) -> GatewayView:
        """The latest picture; UNKNOWN before the first answer and once answers are stale."""
        now = time.monotonic()
        if now - self._health_local > STALE_AFTER:
            unknown = MappingProxyType(dict.fromkeys(self._ids, UNKNOWN_UPSTREAM))
            return GatewayView(reachable=False, upstreams=unknown)
        upstreams = {uid: _frozen(u, now) for uid, u in self._upstreams.items()}
        return GatewayView(
            reachable=self._reachable,
            strategy=self._strategy,
            ws_upstream=self._ws_upstream,
            ws_observed=self._ws_observed,
            upstreams=MappingProxyType(upstreams),
        )

    # -- actions -----------------------------------------------------------------------------

    async def set_strategy(self, name: str) -> str:
        """Switch the gateway's strategy and prove it through the health URL; a one-line
        detail of what was seen, or ObserverError."""
        if self.strategy_url is None:
            raise CannotSwitch(
                "strategy: the gateway under test has no strategy endpoint battletui can use"
            )
        try:
            response = await self._http.post(self.strategy_url, json={"name": name})
        except httpx.HTTPError as error:
            raise ObserverError(
                f"strategy: the gateway did not answer: {one_line(error)}"
            ) from None
        if response.status_code != 200:
            said = one_line(response.text) or f"HTTP {response.status_code}"
            raise ObserverError(f"strategy: {said}")
        deadline = time.monotonic() + VERIFY_DEADLINE
        while True:
            health = await self._fetch_health()
            seen = None if health is None else health.get("strategy")
            if seen == name:
                return f"gateway /health reports strategy {name}"
            if time.monotonic() > deadline:
                now = "did not answer" if health is None else f"reports {seen!r}"
                raise ObserverError(f"strategy: the gateway's /health {now}")
            await asyncio.sleep(0.02)

    # -- the health URL ----------------------------------------------------------------------

    def _provider(self, name: str) -> str | None:
        """The provider id behind one of the gateway's upstream names; None when no provider."""
        provider = self._names.get(name, name)
        return provider if provider in self._upstreams else None

    async def _poll_loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._fetch_health()
            except Exception:  # a bug here must not end observation for good
                _log.exception("gateway health poll failed")
            with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can swallow
                async with asyncio.timeout(self._interval):  # the cancel that stops us
                    await self._wake.wait()
            self._wake.clear()
            gap = _MIN_POLL_GAP - (time.monotonic() - started)
            if gap > 0:
                await asyncio.sleep(gap)

    async def _fetch_health(self) -> Mapping[str, Any] | None:
        """One poll, applied to the view; None when it was not answered."""
        try:
            response = await self._http.get(self.health_url)
            response.raise_for_status()
            health = response.json()
            if not isinstance(health, dict) or not isinstance(health.get("upstreams"), dict):
                raise ValueError("not a health report")
        except (httpx.HTTPError, ValueError) as error:
            if self._reachable:
                _log.info("gateway health URL unreachable: %s", one_line(error))
            self._reachable = False
            return None
        self._apply_health(health, time.monotonic())
        return health

    def _apply_health(self, health: Mapping[str, Any], now: float) -> None:
        at = health.get("at")
        gateway_at = float(at) if isinstance(at, (int, float)) else math.inf
        listed: dict[str, Any] = {}
        for name, entry in health["upstreams"].items():
            provider = self._provider(str(name))
            if provider is not None:
                listed[provider] = entry
        for uid, state in self._upstreams.items():
            entry = listed.get(uid)
            if not isinstance(entry, dict):
                self._upstreams[uid] = _Upstream()
                continue
            if gateway_at >= state.breaker_at:  # else a transition is newer than this answer
                state.breaker = str(entry.get("breaker", UNKNOWN))
                left = _number(entry.get("open_remaining"))
                state.open_until = (
                    now + left if state.breaker == "OPEN" and left is not None else None
                )
                state.breaker_at = gateway_at if math.isfinite(gateway_at) else -math.inf
            limited = _number(entry.get("rate_limited_for"))
            state.limited_until = None if limited is None else now + limited
            lag = entry.get("lag")
            state.lag = lag if isinstance(lag, int) and not isinstance(lag, bool) else None
            state.lagging = entry.get("lagging") is True
        strategy = health.get("strategy")
        self._strategy = strategy if isinstance(strategy, str) else None
        websocket = health.get("websocket")
        serving = websocket.get("upstream") if isinstance(websocket, dict) else None
        self._ws_observed = isinstance(websocket, dict) and "upstream" in websocket
        self._ws_upstream = self._provider(serving) if isinstance(serving, str) else None
        self._health_local = now
        self._reachable = True
        self._answered.set()

    # -- the event stream --------------------------------------------------------------------

    async def _follow_events(self) -> None:
        assert self.events_url is not None
        wait = _RECONNECT[0]
        while True:
            try:
                async with connect(
                    f"{self.events_url}?since={self._seq}",
                    proxy=None,
                    open_timeout=REQUEST_TIMEOUT,
                    max_size=_MAX_MESSAGE,
                    compression=None,
                ) as ws:
                    self.connected = True
                    wait = _RECONNECT[0]
                    async for raw in ws:
                        self._on_message(raw)
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                _log.debug("gateway events: %s", one_line(error))
            except Exception:  # a bug here must not end observation for good
                _log.exception("following gateway events failed")
            finally:
                self.connected = False
            await asyncio.sleep(wait)  # the gateway is gone or restarting: try again
            wait = min(wait * 2, _RECONNECT[1])

    def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("not an object")
            self._dispatch(message)
        except (ValueError, TypeError, KeyError) as error:
            self.bad_messages += 1
            _log.warning("gateway events: unreadable message: %s", one_line(error))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        seq = message.get("seq")
        if not isinstance(seq, int):
            raise ValueError(f"{kind} message without a seq")
        if kind == HELLO:
            self.missed_events += int(message.get("missed") or 0)
            self._seq = min(self._seq, seq)  # a new gateway process counts from 0 again
            self._greeted.set()
            return
        if seq <= self._seq:
            return  # seen before this reconnect
        self._seq = seq
        callbacks = self._callbacks
        if kind == BREAKER:
            transition = self._mapped_transition(decode_transition(message))
            if transition is not None:
                self._apply_transition(transition, _number(message.get("open_for")))
                tell(callbacks.on_transition, transition)
        elif kind == FAILOVERS:
            self.omitted_failovers += int(message.get("omitted") or 0)
            for event in decode_failovers(message):
                tell(callbacks.on_failover, self._mapped_failover(event))
        elif kind == WS_FEED:
            feed = decode_ws_feed(message)
            if feed.provider is not None:
                feed = dataclasses.replace(
                    feed, provider=self._names.get(feed.provider, feed.provider)
                )
            if feed.kind in _FEED_SERVING:
                self._ws_upstream = feed.provider
            tell(callbacks.on_ws_event, feed)
        elif kind == GATEWAY:
            note = decode_gateway(message)
            if note.provider is not None:
                note = dataclasses.replace(
                    note, provider=self._names.get(note.provider, note.provider)
                )
            tell(callbacks.on_gateway_event, note)
        if kind in _SETTLE_KINDS:
            self._wake.set()

    def _mapped_transition(self, transition: BreakerTransition) -> BreakerTransition | None:
        provider = self._provider(transition.provider)
        if provider is None:
            return None  # an upstream of the gateway that is no provider of the lab
        return dataclasses.replace(transition, provider=provider)

    def _mapped_failover(self, event: FailoverEvent) -> FailoverEvent:
        if not self._names:
            return event
        names = self._names
        return dataclasses.replace(
            event,
            failed=tuple((names.get(who, who), why) for who, why in event.failed),
            served_by=None
            if event.served_by is None
            else names.get(event.served_by, event.served_by),
        )

    def _apply_transition(self, transition: BreakerTransition, open_for: float | None) -> None:
        state = self._upstreams[transition.provider]
        if transition.at < state.breaker_at:
            return
        state.breaker = str(transition.new)
        state.breaker_at = transition.at
        if state.breaker == "OPEN" and open_for is not None:
            state.open_until = time.monotonic() + open_for
        elif state.breaker != "OPEN":
            state.open_until = None


class GatewayObserver(JsonHealthObserver):
    """The reference gateway, whose ``/health``, ``/events`` and ``/admin/strategy`` sit under
    one admin URL."""

    def __init__(
        self,
        admin_url: str,
        provider_ids: Sequence[str],
        *,
        on_transition: Callable[[BreakerTransition], None] | None = None,
        on_ws_event: Callable[[WsFeedEvent], None] | None = None,
        on_failover: Callable[[FailoverEvent], None] | None = None,
        on_gateway_event: Callable[[GatewayEvent], None] | None = None,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        admin = admin_url.rstrip("/")
        super().__init__(
            f"{admin}/health",
            provider_ids,
            events_url="ws" + admin.removeprefix("http") + "/events",
            strategy_url=f"{admin}/admin/strategy",
            callbacks=ObserverCallbacks(on_transition, on_ws_event, on_failover, on_gateway_event),
            poll_interval=poll_interval,
        )
        self.admin_url = admin


def _frozen(state: _Upstream, now: float) -> UpstreamView:
    left = None
    if state.breaker == "OPEN" and state.open_until is not None:
        left = max(0.0, state.open_until - now)
    limited = None if state.limited_until is None else max(0.0, state.limited_until - now)
    return UpstreamView(
        breaker=state.breaker,
        breaker_left=left,
        rate_limited_for=limited,
        lag=state.lag,
        lagging=state.lagging,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
