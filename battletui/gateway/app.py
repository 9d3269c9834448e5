"""The reference gateway as a running server: lifecycle and the endpoints.

Clients POST JSON-RPC to ``/`` or open a WebSocket on ``/`` (subscriptions plus JSON-RPC over
the socket). Its state is read on the same port through the admin endpoints (``GET /health``,
the ``GET /events`` stream, ``POST /admin/strategy``; see :mod:`battletui.gateway.admin`).
Upstreams are reached only over their HTTP and WebSocket endpoints through one pooled client
session, exactly like a production gateway. Run alone in its own process with
``python -m battletui.gateway``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import ClientSession, web

from battletui.gateway.admin import add_admin_routes
from battletui.gateway.backfill import Post
from battletui.gateway.breaker import CircuitBreaker
from battletui.gateway.event_stream import QUEUE_LIMIT, EventStream
from battletui.gateway.head_feed import HeadFeed
from battletui.gateway.head_sequencer import Head
from battletui.gateway.health import HealthProber, run_ticker
from battletui.gateway.health_report import health_report
from battletui.gateway.jsonrpc import NO_UPSTREAM, PARSE_ERROR_REPLY, error_reply
from battletui.gateway.listeners import also, notify
from battletui.gateway.outcome import Verdict
from battletui.gateway.pool import UpstreamPool, UpstreamStats
from battletui.gateway.router import Router
from battletui.gateway.selection import Strategy
from battletui.gateway.upstream_client import Upstream, UpstreamClient, new_session
from battletui.gateway.ws_endpoint import WsEndpoint
from battletui.processes import cancel_and_wait
from battletui.protocol.events import (
    BreakerState,
    BreakerTransition,
    FailoverEvent,
    GatewayEvent,
    WsFeedEvent,
)
from battletui.scenario import GatewaySpec
from battletui.wire import FastPostServer, PostReply
from battletui.wire import loads as fast_loads

__all__ = ["Gateway"]

_JSON: Final = "application/json"
_NO_FAILOVER: Final = (("X-Failovers", "0"),)
_SHUTDOWN_TIMEOUT: Final = 0.5
IDLE_TIMEOUT: Final = 30.0
"""Seconds a connection aiohttp serves (admin, WebSocket upgrades) may go without a whole
request; the POST / path has its own header deadline (``wire.HEADER_TIMEOUT``)."""
"""Grace for in-flight client requests on stop; they are cancelled after it."""


class Gateway:
    """JSON-RPC load balancer with per-provider breakers and failover.

    ``clock`` drives the breakers (and so the times on their transitions) and stamps every
    event; request deadlines and latencies use the event loop's real time. ``health_interval
    <= 0`` turns probes off. Listeners (plain callbacks, never allowed to break routing):
    ``on_transition`` every breaker transition; ``on_ws_event`` what the shared upstream
    ``newHeads`` subscription does (subscribed, switch, backfill, gap, stalled);
    ``on_failover`` every request that needed more than one attempt (or got no answer);
    ``on_health_event`` lagging / caught-up / rate-limited / strategy changes. The same
    events always go to the ``/events`` stream too (``events_queue_limit`` bounds what each of
    its clients may fall behind).
    """

    def __init__(
        self,
        spec: GatewaySpec,
        upstreams: Sequence[Upstream],
        *,
        clock: Callable[[], float] = time.monotonic,
        on_transition: Callable[[BreakerTransition], None] | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        health_interval: float = 0.5,
        on_ws_event: Callable[[WsFeedEvent], None] | None = None,
        on_failover: Callable[[FailoverEvent], None] | None = None,
        on_health_event: Callable[[GatewayEvent], None] | None = None,
        events_queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self._spec = spec
        self._clock = clock
        self._seed = seed
        self._events = EventStream(clock=clock, queue_limit=events_queue_limit)
        self._on_ws_event = also(self._events.ws_feed, on_ws_event)
        self._on_failover = also(self._events.failover, on_failover)
        self._on_health_event = also(self._events.gateway_event, on_health_event)
        self._pool = UpstreamPool(
            upstreams,
            spec.breaker,
            clock=clock,
            on_transition=also(self._stream_transition, on_transition),
            lag_blocks=spec.lag_blocks,
            seed=seed,
            on_event=self._on_health_event,
        )
        self._selector = Strategy(
            spec.strategy, self._pool.ids, self._pool.estimate_ms, random.Random(seed)
        )
        # Its own selector: choosing the subscription's upstream must not disturb the
        # rotation (or the seeded tie-breaks) of HTTP traffic. A subscription is long-lived:
        # measured providers go before unmeasured ones.
        self._ws_selector = Strategy(
            spec.strategy,
            self._pool.ids,
            self._pool.estimate_ms,
            random.Random(f"gateway-ws-{seed}"),
            explore=False,
        )
        self._host = host
        self._requested_port = port
        self._health_interval = health_interval
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._client: UpstreamClient | None = None
        self._front: FastPostServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._router: Router | None = None
        self._feed: HeadFeed | None = None
        self._endpoint: WsEndpoint | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the server and start the breaker ticker and health probes."""
        if self._runner is not None:
            raise RuntimeError("gateway already started")
        self._session = new_session()
        client = self._client = UpstreamClient()
        self._router = Router(
            self._spec,
            self._pool,
            self._selector,
            client,
            clock=self._clock,
            on_failover=self._on_failover,
        )
        self._feed = self._new_feed(self._session, client, self._router)
        feed = self._feed
        self._endpoint = WsEndpoint(
            self._forward,
            on_first=feed.ensure_running,
            on_last=feed.halt,
            seed=self._seed,
        )
        app = web.Application()
        app.router.add_post("/", self._handle_rpc)
        app.router.add_get("/", self._endpoint.handle)
        self._events.open()
        add_admin_routes(
            app,
            health=self.health,
            strategy=lambda: self.strategy,
            set_strategy=self.set_strategy,
            events=self._events,
        )
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            keepalive_timeout=IDLE_TIMEOUT,  # also the deadline for a request's headers
        )
        self._runner = runner
        try:
            await runner.setup()
            assert runner.server is not None
            # POST / on the lean path; WebSocket upgrades and the admin endpoints go on to
            # aiohttp on the same port.
            self._front = FastPostServer(self._fast_rpc, runner.server)
            self._port = await self._front.start(self._host, self._requested_port)
        except BaseException:
            await self.stop()
            raise
        self._tasks.append(asyncio.create_task(run_ticker(self._pool), name="gateway-ticker"))
        if self._health_interval > 0:
            prober = HealthProber(
                self._pool,
                client,
                interval=self._health_interval,
                timeout=self._spec.attempt_timeout,
            )
            self._tasks.append(asyncio.create_task(prober.run(), name="gateway-health"))

    def _new_feed(self, session: ClientSession, client: UpstreamClient, router: Router) -> HeadFeed:
        async def route(body: bytes, parsed: Any) -> tuple[int, bytes, str | None]:
            reply = await router.route(body, parsed, internal=True)  # no client asked for it
            return reply.status, reply.body, reply.upstream

        def direct(uid: str) -> Post:
            async def post(body: bytes, parsed: Any) -> tuple[int, bytes, str | None]:
                if self._pool.rate_limited_for(uid) > 0:  # benched after a 429: leave it be
                    return 0, b"", None
                attempt = await client.attempt(
                    self._pool.upstream(uid), body, timeout=self._spec.attempt_timeout, batch=True
                )
                if attempt.verdict is not Verdict.ANSWER:
                    return attempt.status, b"", None
                return attempt.status, attempt.body, uid

            return post

        def deliver(head: Head) -> None:
            if self._endpoint is not None:
                self._endpoint.deliver(head)

        return HeadFeed(
            self._spec,
            self._pool,
            self._ws_selector,
            session,
            route=route,
            direct=direct,
            deliver=deliver,
            clock=self._clock,
            on_event=self._on_ws_event,
            measure_wait=self._measure_wait,
        )

    def _measure_wait(self) -> float:
        # Health probes measure everyone within one attempt; without them, nobody waits.
        by_latency = self._ws_selector.name in ("fastest", "latency-weighted")
        return self._spec.attempt_timeout if self._health_interval > 0 and by_latency else 0.0

    async def _forward(self, body: bytes, parsed: Any) -> tuple[int, bytes]:
        if self._router is None:  # pragma: no cover - sockets only run while started
            raise RuntimeError("gateway not started")
        reply = await self._router.route(body, parsed)
        return reply.status, reply.body

    async def stop(self) -> None:
        """Stop serving, end background tasks, close the upstream pool. Safe to call twice.

        WebSocket clients are closed with 1001 and the upstream subscription is ended first.
        """
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is not None:  # first: no new subscription can restart the feed
            await endpoint.close()
        feed, self._feed = self._feed, None
        if feed is not None:
            await feed.close()
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks, swallow=True)
        front, self._front = self._front, None
        if front is not None:
            await front.close()
        if self._runner is not None:  # last words to the /events clients, then 1001
            await self._events.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        client, self._client = self._client, None
        if client is not None:
            await client.close()

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

    # -- observation -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("gateway not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Where clients open their WebSocket (same port as HTTP, path ``/``)."""
        return f"ws://{self._host}:{self.port}"

    @property
    def ws_upstream(self) -> str | None:
        """The provider serving the shared ``newHeads`` subscription; None when none is."""
        return None if self._feed is None else self._feed.upstream

    @property
    def ws_clients(self) -> int:
        """Connected client WebSockets."""
        return 0 if self._endpoint is None else self._endpoint.clients

    @property
    def ws_subscriptions(self) -> int:
        """Active client subscriptions (all kinds; only ``newHeads`` exists)."""
        return 0 if self._endpoint is None else self._endpoint.subscriptions

    @property
    def spec(self) -> GatewaySpec:
        return self._spec

    @property
    def breakers(self) -> Mapping[str, CircuitBreaker]:
        """The breakers that actually route traffic, by upstream id, in configuration order."""
        return self._pool.breakers

    def stats(self) -> Mapping[str, UpstreamStats]:
        return self._pool.stats()

    @property
    def strategy(self) -> str:
        """The selection strategy in use (see :data:`battletui.scenario.STRATEGIES`)."""
        return self._selector.name

    def set_strategy(self, name: str) -> None:
        """Switch the selection strategy from the next request on (HTTP and the choice of the
        WebSocket feed's next upstream; a serving subscription stays where it is).

        Raises ValueError for an unknown name. Emits a ``strategy`` health event on a change.
        """
        old = self._selector.name
        self._selector.switch(name)
        self._ws_selector.switch(name)
        if name != old:
            notify(
                self._on_health_event,
                GatewayEvent(self._clock(), "strategy", None, f"{old} → {name}"),
            )

    def lag(self, provider_id: str) -> int | None:
        """Blocks ``provider_id`` is behind the best head of the providers whose breaker is not
        OPEN, as seen by the health probes (and ``eth_blockNumber`` answers); None if unknown
        (no head seen yet, or its own breaker is OPEN). KeyError for an unknown provider."""
        return self._pool.lag(provider_id)

    @property
    def lagging(self) -> frozenset[str]:
        """Providers more than ``spec.lag_blocks`` behind: demoted below the others."""
        return self._pool.lagging

    def rate_limited_for(self, provider_id: str) -> float:
        """Seconds left of the Retry-After ``provider_id`` answered with (0 when none)."""
        return self._pool.rate_limited_for(provider_id)

    # -- endpoints ---------------------------------------------------------------------------

    async def _fast_rpc(self, body: bytes) -> PostReply:
        """``POST /`` on the lean path: status, body and headers of the answer."""
        try:
            parsed = fast_loads(body)
        except (ValueError, RecursionError):
            return 200, PARSE_ERROR_REPLY, _NO_FAILOVER
        if self._router is None:  # pragma: no cover - handlers only run while started
            return 503, error_reply(None, NO_UPSTREAM, "gateway stopping"), _NO_FAILOVER
        reply = await self._router.route(body, parsed)
        headers = [("X-Failovers", str(reply.failovers))]
        if reply.failovers:
            headers.append(("X-Failover-Cost-Ms", str(round(reply.cost * 1000))))
        if reply.upstream is not None:
            headers.append(("X-Upstream", reply.upstream))
        return reply.status, reply.body, headers

    async def _handle_rpc(self, request: web.Request) -> web.Response:
        """``POST /`` on a connection aiohttp serves (one that began with another request)."""
        status, body, headers = await self._fast_rpc(await request.read())
        return web.Response(status=status, body=body, content_type=_JSON, headers=dict(headers))

    def health(self) -> dict[str, Any]:
        """The ``GET /health`` body (format: :mod:`battletui.gateway.health_report`)."""
        report = health_report(self._pool, self.strategy, at=self._clock())
        report["websocket"] = {
            "upstream": self.ws_upstream,
            "clients": self.ws_clients,
            "subscriptions": self.ws_subscriptions,
        }
        report["events"] = self._events.status()
        return report

    @property
    def event_stream(self) -> EventStream:
        """What feeds ``GET /events`` (for tests that need events no fake can provoke)."""
        return self._events

    def _stream_transition(self, transition: BreakerTransition) -> None:
        open_for = None
        if transition.new is BreakerState.OPEN:  # the breaker has set its open time already
            open_for = self._pool.breakers[transition.provider].current_open_for
        self._events.transition(transition, open_for)
