"""The gateway rig: fake upstreams, gateways in front of them, a client,
and every event the gateways report, all stopped when the test ends.

Each gateway test module builds it with the gateway settings its tests assume
(``GatewaySettings``); a test overrides any of them for one gateway (``lab.gateway(...,
failures=1)``). HTTP fakes are ``FakeUpstream``; fake nodes (``FakeNode``) add WebSocket
``newHeads`` on a chain that grows once the lab's first gateway starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, TypedDict, Unpack

import aiohttp
from multidict import CIMultiDictProxy
from websockets.asyncio.client import connect

from battletui.gateway import Gateway, Upstream
from battletui.protocol.events import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent
from battletui.scenario import BreakerSpec, GatewaySpec
from helpers.fake_node import BLOCK_INTERVAL, Chain, FakeNode, Listener
from helpers.fake_upstream import Behaviour, FakeUpstream

_BREAKER = BreakerSpec()
_SPEC = GatewaySpec()


class Fronted(Protocol):
    """Anything the lab can put behind a gateway: it names its ``Upstream``."""

    @property
    def upstream(self) -> Upstream: ...


@dataclasses.dataclass(frozen=True)
class GatewaySettings:
    """How the lab builds a gateway; the defaults are the spec's own (no probes, seed 7)."""

    strategy: str = "round-robin"
    failures: int = _BREAKER.failures
    open_for: float = _BREAKER.open_for
    successes: int = _BREAKER.successes
    window: int = _BREAKER.window
    failure_rate: float = _BREAKER.failure_rate
    min_calls: int = _BREAKER.min_calls
    timeout: float = _SPEC.timeout
    attempt_timeout: float = _SPEC.attempt_timeout
    stall: float = _SPEC.ws_stall_timeout
    backfill_limit: int = _SPEC.ws_backfill_limit
    lag_blocks: int = _SPEC.lag_blocks
    health_interval: float = 0.0
    seed: int = 7

    def spec(self) -> GatewaySpec:
        breaker = BreakerSpec(
            failures=self.failures,
            open_for=self.open_for,
            successes=self.successes,
            window=self.window,
            failure_rate=self.failure_rate,
            min_calls=self.min_calls,
        )
        return GatewaySpec(
            strategy=self.strategy,
            breaker=breaker,
            timeout=self.timeout,
            attempt_timeout=self.attempt_timeout,
            ws_stall_timeout=self.stall,
            ws_backfill_limit=self.backfill_limit,
            lag_blocks=self.lag_blocks,
        )


class GatewayOptions(TypedDict, total=False):
    """What one ``lab.gateway(...)`` call may override of the lab's ``GatewaySettings``."""

    failures: int
    open_for: float
    successes: int
    window: int
    failure_rate: float
    min_calls: int
    timeout: float
    attempt_timeout: float
    stall: float
    backfill_limit: int
    lag_blocks: int
    health_interval: float
    seed: int


class GatewayRig:
    """Fakes, gateways and a client; ``transitions``, ``failovers``, ``events`` (health:
    lagging, rate-limited, strategy) and ``ws_events`` (the shared subscription) as they
    happened, from every gateway of the lab."""

    def __init__(
        self, settings: GatewaySettings | None = None, **fake_defaults: Unpack[Behaviour]
    ) -> None:
        self.settings = settings or GatewaySettings()
        self.fake_defaults = fake_defaults
        self.client = aiohttp.ClientSession()
        self.chain = Chain()
        self.fakes: list[FakeUpstream] = []
        self.nodes: dict[str, FakeNode] = {}
        self.gateways: list[Gateway] = []
        self.listeners: list[Listener] = []
        self.transitions: list[BreakerTransition] = []
        self.failovers: list[FailoverEvent] = []
        self.events: list[GatewayEvent] = []
        self.ws_events: list[WsFeedEvent] = []
        self._ticker: asyncio.Task[None] | None = None

    # -- what stands behind the gateways ---------------------------------------------------

    async def fake(self, name: str, **behaviour: Unpack[Behaviour]) -> FakeUpstream:
        """A started HTTP fake: the lab's ``fake_defaults``, then ``behaviour``."""
        merged: Behaviour = {**self.fake_defaults, **behaviour}
        fake = FakeUpstream(name, **merged)
        await fake.start()
        self.fakes.append(fake)
        return fake

    async def fakes_named(self, *names: str, **behaviour: Unpack[Behaviour]) -> list[FakeUpstream]:
        return [await self.fake(name, **behaviour) for name in names]

    async def node(self, name: str) -> FakeNode:
        """A started fake node on the lab's chain (HTTP and WebSocket ``newHeads``)."""
        node = FakeNode(name, self.chain)
        await node.start()
        self.nodes[name] = node
        return node

    def start_chain(self) -> None:
        """A block every ``BLOCK_INTERVAL``, announced by every node."""
        self._ticker = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(BLOCK_INTERVAL)
            self.chain.head += 1
            for node in list(self.nodes.values()):
                await node.announce(self.chain.head)

    # -- gateways and their clients --------------------------------------------------------

    async def gateway(
        self,
        upstreams: Sequence[Fronted],
        strategy: str | None = None,
        **overrides: Unpack[GatewayOptions],
    ) -> Gateway:
        """A started gateway in front of ``upstreams``, reporting to the lab's lists; the
        chain starts growing with the first gateway in front of nodes."""
        settings = dataclasses.replace(
            self.settings, strategy=strategy or self.settings.strategy, **overrides
        )
        gateway = Gateway(
            settings.spec(),
            [u.upstream for u in upstreams],
            seed=settings.seed,
            health_interval=settings.health_interval,
            on_transition=self.transitions.append,
            on_failover=self.failovers.append,
            on_health_event=self.events.append,
            on_ws_event=self.ws_events.append,
        )
        await gateway.start()
        self.gateways.append(gateway)
        if self.nodes and self._ticker is None:
            self.start_chain()
        return gateway

    async def post(self, gateway: Gateway, payload: Any) -> tuple[int, CIMultiDictProxy[str], Any]:
        """POST ``payload`` (bytes as they are, anything else as JSON): status, headers and
        the decoded body (``None`` when empty)."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        async with self.client.post(gateway.url, data=data, headers=headers) as response:
            body = await response.read()
            return response.status, response.headers, json.loads(body) if body else None

    async def call(
        self, gateway: Gateway, method: str = "eth_blockNumber", request_id: int = 1
    ) -> tuple[int, str | None, int]:
        """One request: (status, X-Upstream, X-Failovers)."""
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": []}
        status, headers, _ = await self.post(gateway, payload)
        return status, headers.get("X-Upstream"), int(headers["X-Failovers"])

    async def served_by(
        self, gateway: Gateway, n: int, method: str = "eth_blockNumber"
    ) -> list[str]:
        """Who answered each of ``n`` requests in a row (each must be answered)."""
        served: list[str] = []
        for i in range(n):
            status, upstream, _ = await self.call(gateway, method, i)
            assert status == 200 and upstream is not None
            served.append(upstream)
        return served

    async def listener(self, gateway: Gateway, *, subscribe: bool = True) -> Listener:
        """A WebSocket client of ``gateway``, subscribed to ``newHeads`` unless told not."""
        listener = Listener(await connect(gateway.ws_url))
        self.listeners.append(listener)
        if subscribe:
            await listener.subscribe()
        return listener

    def kinds(self, kind: str) -> list[WsFeedEvent]:
        """The shared subscription's events of one kind (subscribed, switch, backfill, ...)."""
        return [e for e in self.ws_events if e.kind == kind]

    async def close(self) -> None:
        """Stop everything the lab started: clients before gateways before upstreams."""
        try:
            if self._ticker is not None:
                self._ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._ticker
            for listener in self.listeners:
                await listener.close()
            for gateway in self.gateways:
                await gateway.stop()
            for fake in self.fakes:
                await fake.stop()
            for node in self.nodes.values():
                await node.kill()
        finally:
            await self.client.close()


@contextlib.asynccontextmanager
async def gateway_rig(
    settings: GatewaySettings | None = None, **fake_defaults: Unpack[Behaviour]
) -> AsyncIterator[GatewayRig]:
    """A ``GatewayRig``, closed however the test ends (for a module's ``lab`` fixture)."""
    lab = GatewayRig(settings, **fake_defaults)
    try:
        yield lab
    finally:
        await lab.close()
