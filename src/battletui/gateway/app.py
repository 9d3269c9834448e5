"""The reference gateway as a running HTTP server: lifecycle and the two endpoints.

Clients POST JSON-RPC to ``/``; ``GET /health`` shows the breakers. Upstreams are reached only
over HTTP through one pooled client session, exactly like a production gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Final, Self

from aiohttp import ClientSession, web

from battletui.gateway.breaker import BreakerTransition, CircuitBreaker
from battletui.gateway.health import HealthProber, health_report, run_ticker
from battletui.gateway.jsonrpc import PARSE_ERROR, error_reply
from battletui.gateway.pool import UpstreamPool, UpstreamStats
from battletui.gateway.router import Router
from battletui.gateway.selection import make_selector
from battletui.gateway.upstream_client import Upstream, UpstreamClient, new_session
from battletui.scenario import GatewaySpec

__all__ = ["Gateway"]

_JSON: Final = "application/json"
_SHUTDOWN_TIMEOUT: Final = 0.5
"""Grace for in-flight client requests on stop; they are cancelled after it."""


class Gateway:
    """JSON-RPC load balancer with per-provider breakers and failover.

    ``clock`` drives the breakers (and so the times on their transitions); request deadlines
    and latencies use the event loop's real time. ``health_interval <= 0`` turns probes off.
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
    ) -> None:
        self._spec = spec
        self._pool = UpstreamPool(upstreams, spec.breaker, clock=clock, on_transition=on_transition)
        self._selector = make_selector(
            spec.strategy, self._pool.ids, self._pool.latency_ms, random.Random(seed)
        )
        self._host = host
        self._requested_port = port
        self._health_interval = health_interval
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._router: Router | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the server and start the breaker ticker and health probes."""
        if self._runner is not None:
            raise RuntimeError("gateway already started")
        self._session = new_session()
        client = UpstreamClient(self._session)
        self._router = Router(self._spec, self._pool, self._selector, client)
        app = web.Application()
        app.router.add_post("/", self._handle_rpc)
        app.router.add_get("/health", self._handle_health)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        self._runner = runner
        try:
            await runner.setup()
            site = web.TCPSite(runner, self._host, self._requested_port)
            await site.start()
        except BaseException:
            await self.stop()
            raise
        self._port = int(runner.addresses[0][1])
        self._tasks.append(asyncio.create_task(run_ticker(self._pool), name="gateway-ticker"))
        if self._health_interval > 0:
            prober = HealthProber(
                self._pool,
                client,
                interval=self._health_interval,
                timeout=self._spec.attempt_timeout,
            )
            self._tasks.append(asyncio.create_task(prober.run(), name="gateway-health"))

    async def stop(self) -> None:
        """Stop serving, end background tasks, close the upstream pool. Safe to call twice."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

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
    def spec(self) -> GatewaySpec:
        return self._spec

    @property
    def breakers(self) -> Mapping[str, CircuitBreaker]:
        """The breakers that actually route traffic, by upstream id, in configuration order."""
        return self._pool.breakers

    def stats(self) -> Mapping[str, UpstreamStats]:
        return self._pool.stats()

    # -- endpoints ---------------------------------------------------------------------------

    async def _handle_rpc(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return web.Response(
                body=error_reply(None, PARSE_ERROR, "Parse error"),
                content_type=_JSON,
                headers={"X-Failovers": "0"},
            )
        if self._router is None:  # pragma: no cover - handlers only run while started
            raise web.HTTPServiceUnavailable()
        reply = await self._router.route(body, parsed)
        headers = {"X-Failovers": str(reply.failovers)}
        if reply.upstream is not None:
            headers["X-Upstream"] = reply.upstream
        return web.Response(
            status=reply.status, body=reply.body, content_type=_JSON, headers=headers
        )

    async def _handle_health(self, request: web.Request) -> web.Response:
        return web.json_response(health_report(self._pool))
