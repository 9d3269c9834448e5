"""``GatewayObserver``: what the engine knows of the gateway under test, learned only from the
gateway's own admin endpoints, never from its objects.

Two sources, both over sockets:

* ``GET /health`` polled about four times a second (httpx, the declared client for what is
  not the measured hot path) gives the current picture: strategy, each upstream's breaker and
  how long it stays open, rate limits, lag, and the WebSocket feed's upstream;
* ``GET /events`` (a WebSocket) gives every breaker transition, failover, feed switch and
  health note as it happens. They come back as the gateway's own values
  (:class:`~battletui.gateway.BreakerTransition`, ``FailoverEvent``, ``WsFeedEvent``,
  ``GatewayEvent``), handed to the same callbacks the recorder has always taken. A transition
  also updates the picture at once, so the screen need not wait for the next poll; a poll
  answered before the transition (by the gateway's clock) does not undo it. When the stream
  drops while the gateway lives, it reconnects and asks for what it missed (``?since=N``).

Times in the events are the gateway's clock (``time.monotonic`` there; on Linux one
CLOCK_MONOTONIC for every process), so the engine turns them into session offsets as if the
gateway were local.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
import websockets
from websockets.asyncio.client import connect

from battletui.gateway import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent
from battletui.gateway.event_format import (
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

__all__ = [
    "POLL_INTERVAL",
    "GatewayAdminError",
    "GatewayObserver",
    "GatewayView",
    "UpstreamView",
]

_log = logging.getLogger(__name__)

POLL_INTERVAL: Final = 0.5
"""Seconds between ``/health`` polls. Transitions arrive on ``/events`` at once; the poll
keeps what only ``/health`` says (time left open, lag, Retry-After) fresh. It runs on the
engine's measuring loop, so it is kept sparse."""
REQUEST_TIMEOUT: Final = 1.0
"""One admin request (or opening the event stream) gives up after this."""
STALE_AFTER: Final = 2.0
"""A ``/health`` answer older than this says nothing any more: the view turns UNKNOWN."""
VERIFY_DEADLINE: Final = 2.0
"""How long a change may take to show in ``/health`` before it counts as not applied."""
_MIN_POLL_GAP: Final = 0.05
"""Events ask for an early poll; never more often than this."""
_RECONNECT: Final = (0.1, 1.0)
"""First and longest wait before reopening a dropped event stream."""
_MAX_MESSAGE: Final = 16 * 1024 * 1024
_SETTLE_KINDS: Final = frozenset({GATEWAY, WS_FEED})
"""Events after which ``/health`` is re-read at once (strategy, feed upstream, lag)."""
_FEED_SERVING: Final = frozenset({"subscribed", "resubscribed", "switch"})

_E = TypeVar("_E")


class GatewayAdminError(RuntimeError):
    """The gateway's admin endpoint refused a change or did not confirm it (one line)."""


@dataclass(frozen=True)
class UpstreamView:
    """One upstream as the gateway sees it; UNKNOWN / None until ``/health`` has said."""

    breaker: str = "UNKNOWN"
    """CLOSED, OPEN, HALF-OPEN, or UNKNOWN."""
    breaker_left: float | None = None
    """Seconds an OPEN breaker stays open (None unless OPEN)."""
    rate_limited_for: float | None = None
    """Seconds left of a Retry-After it answered with (0 when none)."""
    lag: int | None = None
    """Blocks behind the best head (None when unknown)."""
    lagging: bool = False


UNKNOWN_UPSTREAM: Final = UpstreamView()


@dataclass(frozen=True)
class GatewayView:
    """The gateway's state for one live snapshot."""

    reachable: bool = False
    """The last ``/health`` poll was answered."""
    strategy: str | None = None
    ws_upstream: str | None = None
    """The provider serving the gateway's shared ``newHeads`` subscription."""
    upstreams: Mapping[str, UpstreamView] = field(default_factory=lambda: MappingProxyType({}))

    def upstream(self, provider_id: str) -> UpstreamView:
        return self.upstreams.get(provider_id, UNKNOWN_UPSTREAM)


@dataclass
class _Upstream:
    breaker: str = "UNKNOWN"
    open_until: float | None = None
    """Local monotonic time an OPEN breaker closes its door until."""
    breaker_at: float = -math.inf
    """Gateway time of the newest fact about the breaker (poll or transition)."""
    limited_until: float | None = None
    lag: int | None = None
    lagging: bool = False


class GatewayObserver:
    """Follows one gateway's admin endpoints at ``admin_url`` for ``provider_ids``.

    Callbacks run on the engine's loop, in the gateway's order; one that raises is logged and
    never stops the stream.
    """

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
        self.admin_url = admin_url.rstrip("/")
        self.events_url = "ws" + self.admin_url.removeprefix("http") + "/events"
        self._ids = tuple(provider_ids)
        self._on_transition = on_transition
        self._on_ws_event = on_ws_event
        self._on_failover = on_failover
        self._on_gateway_event = on_gateway_event
        self._interval = poll_interval
        self._http = httpx.AsyncClient(
            base_url=self.admin_url, timeout=REQUEST_TIMEOUT, trust_env=False
        )
        self._upstreams = {uid: _Upstream() for uid in self._ids}
        self._strategy: str | None = None
        self._ws_upstream: str | None = None
        self._health: Mapping[str, Any] | None = None
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

    async def start(self) -> None:
        """Start polling and following the event stream (returns at once)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._poll_loop(), name="gateway-observer-health"),
            asyncio.create_task(self._follow_events(), name="gateway-observer-events"),
        ]

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Until ``/health`` has answered and the event stream is open; GatewayAdminError
        (one line) when that does not happen within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._answered.wait()
                await self._greeted.wait()
        except TimeoutError:
            what = "/events" if self._answered.is_set() else "/health"
            raise GatewayAdminError(
                f"the gateway's {what} at {self.admin_url} did not answer within {timeout:g}s"
            ) from None

    async def stop(self) -> None:
        """Stop polling and close the stream and the client. Idempotent."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
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
            upstreams=MappingProxyType(upstreams),
        )

    @property
    def last_health(self) -> Mapping[str, Any] | None:
        """The last ``/health`` body as answered (None before the first)."""
        return self._health

    # -- actions -----------------------------------------------------------------------------

    async def set_strategy(self, name: str) -> str:
        """Switch the gateway's strategy and prove it through ``/health``; a one-line detail
        of what was seen, or GatewayAdminError."""
        try:
            response = await self._http.post("/admin/strategy", json={"name": name})
        except httpx.HTTPError as error:
            raise GatewayAdminError(
                f"strategy: the gateway did not answer: {_line(error)}"
            ) from None
        if response.status_code != 200:
            said = _line(response.text) or f"HTTP {response.status_code}"
            raise GatewayAdminError(f"strategy: {said}")
        deadline = time.monotonic() + VERIFY_DEADLINE
        while True:
            health = await self._fetch_health()
            seen = None if health is None else health.get("strategy")
            if seen == name:
                return f"gateway /health reports strategy {name}"
            if time.monotonic() > deadline:
                now = "did not answer" if health is None else f"reports {seen!r}"
                raise GatewayAdminError(f"strategy: the gateway's /health {now}")
            await asyncio.sleep(0.02)

    # -- /health -----------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._fetch_health()
            except Exception:  # a bug here must not end observation for good
                _log.exception("gateway /health poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            gap = _MIN_POLL_GAP - (time.monotonic() - started)
            if gap > 0:
                await asyncio.sleep(gap)

    async def _fetch_health(self) -> Mapping[str, Any] | None:
        """One ``/health`` poll, applied to the view; None when it was not answered."""
        try:
            response = await self._http.get("/health")
            response.raise_for_status()
            health = response.json()
            if not isinstance(health, dict) or not isinstance(health.get("upstreams"), dict):
                raise ValueError("not a health report")
        except (httpx.HTTPError, ValueError) as error:
            if self._reachable:
                _log.info("gateway /health unreachable: %s", _line(error))
            self._reachable = False
            return None
        self._apply_health(health, time.monotonic())
        return health

    def _apply_health(self, health: Mapping[str, Any], now: float) -> None:
        at = health.get("at")
        gateway_at = float(at) if isinstance(at, (int, float)) else math.inf
        listed: Mapping[str, Any] = health["upstreams"]
        for uid, state in self._upstreams.items():
            entry = listed.get(uid)
            if not isinstance(entry, dict):
                self._upstreams[uid] = _Upstream()
                continue
            if gateway_at >= state.breaker_at:  # else a transition is newer than this answer
                state.breaker = str(entry.get("breaker", "UNKNOWN"))
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
        self._ws_upstream = serving if isinstance(serving, str) else None
        self._health = health
        self._health_local = now
        self._reachable = True
        self._answered.set()

    # -- /events -----------------------------------------------------------------------------

    async def _follow_events(self) -> None:
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
                _log.debug("gateway /events: %s", _line(error))
            except Exception:  # a bug here must not end observation for good
                _log.exception("following gateway /events failed")
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
            _log.warning("gateway /events: unreadable message: %s", _line(error))

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
        if kind == BREAKER:
            transition = decode_transition(message)
            self._apply_transition(transition, _number(message.get("open_for")))
            _tell(self._on_transition, transition)
        elif kind == FAILOVERS:
            self.omitted_failovers += int(message.get("omitted") or 0)
            for event in decode_failovers(message):
                _tell(self._on_failover, event)
        elif kind == WS_FEED:
            feed = decode_ws_feed(message)
            if feed.kind in _FEED_SERVING:
                self._ws_upstream = feed.provider
            _tell(self._on_ws_event, feed)
        elif kind == GATEWAY:
            _tell(self._on_gateway_event, decode_gateway(message))
        if kind in _SETTLE_KINDS:
            self._wake.set()

    def _apply_transition(self, transition: BreakerTransition, open_for: float | None) -> None:
        state = self._upstreams.get(transition.provider)
        if state is None or transition.at < state.breaker_at:
            return
        state.breaker = str(transition.new)
        state.breaker_at = transition.at
        if state.breaker == "OPEN" and open_for is not None:
            state.open_until = time.monotonic() + open_for
        elif state.breaker != "OPEN":
            state.open_until = None


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


def _line(error: BaseException | str) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _tell(listener: Callable[[_E], None] | None, event: _E) -> None:
    if listener is None:
        return
    try:
        listener(event)
    except Exception:
        _log.exception("gateway observer listener failed")
