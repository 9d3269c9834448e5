"""The in-process lab: the lab's server (mock chain, providers, fault endpoint) and the
reference gateway, in the engine's own event loop.

Kept while the session moves to ``LabProcess`` (the lab in its own process) and the gateway
to its own process; ``battletui lab`` and a few tests still use it. Chaos reaches it the
same way it reaches a ``LabProcess``: through the fault-control endpoint (``client``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import httpx

from battletui.chain import MockChain
from battletui.engine.chaos.rpc import VERIFY_DEADLINE, ChaosError
from battletui.engine.errors import LabError
from battletui.engine.lab_client import LabClient
from battletui.gateway import (
    BreakerTransition,
    FailoverEvent,
    Gateway,
    GatewayEvent,
    Upstream,
    WsFeedEvent,
)
from battletui.lab import LabServer, LabStartError
from battletui.providers import MockProvider
from battletui.scenario import Scenario

__all__ = ["Lab", "LabError"]


class Lab:
    """Starts and stops the pieces a session talks to; owns nothing the session measures."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        base_port: int | None = None,
        on_transition: Callable[[BreakerTransition], None] | None = None,
        on_ws_event: Callable[[WsFeedEvent], None] | None = None,
        on_failover: Callable[[FailoverEvent], None] | None = None,
        on_gateway_event: Callable[[GatewayEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenario = scenario
        self._base_port = base_port
        self._token = secrets.token_urlsafe(32)
        self._server = LabServer(scenario, base_port=base_port, token=self._token, clock=clock)
        self.chain: MockChain = self._server.chain
        self.providers: dict[str, MockProvider] = self._server.providers
        self._client: LabClient | None = None
        self._on_transition = on_transition
        self._on_ws_event = on_ws_event
        self._on_failover = on_failover
        self._on_gateway_event = on_gateway_event
        self._clock = clock
        self.gateway: Gateway | None = None

    async def start(self) -> None:
        try:
            await self._server.start()
            self._client = LabClient(self._server.control_url, self._token)
            self.gateway = Gateway(
                self.scenario.gateway,
                [Upstream(p.id, p.url) for p in self.providers.values()],
                clock=self._clock,
                on_transition=self._on_transition,
                on_ws_event=self._on_ws_event,
                on_failover=self._on_failover,
                on_health_event=self._on_gateway_event,
                seed=self.scenario.seed,
                port=0 if self._base_port is None else self._base_port,
            )
            await self.gateway.start()
        except LabStartError as error:
            await self.stop()
            raise LabError(str(error)) from error
        except OSError as error:
            await self.stop()
            raise LabError(f"the lab could not start: {error}") from error

    async def stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        await self._server.stop()

    @property
    def client(self) -> LabClient:
        """The fault-control endpoint's client (chaos applies every fault through it)."""
        if self._client is None:
            raise LabError("the lab is not started")
        return self._client

    async def switch_strategy(self, name: str) -> str:
        """Switch the gateway's strategy; verified by its own ``/health``."""
        if self.gateway is None:
            raise ChaosError("strategy: the gateway is not running")
        self.gateway.set_strategy(name)  # ValueError for an unknown name
        async with httpx.AsyncClient(trust_env=False, timeout=VERIFY_DEADLINE) as http:
            health = (await http.get(self.gateway.url + "/health")).json()
        if health.get("strategy") != name:
            raise ChaosError(f"strategy: the gateway reports {health.get('strategy')!r}")
        return f"gateway /health reports strategy {name}"

    @property
    def gateway_url(self) -> str:
        if self.gateway is None:
            raise LabError("the lab is not started")
        return self.gateway.url

    @property
    def gateway_ws_url(self) -> str:
        if self.gateway is None:
            raise LabError("the lab is not started")
        return self.gateway.ws_url

    def provider(self, provider_id: str) -> MockProvider:
        return self.providers[provider_id]
