"""The lab: one mock chain, its mock providers and the reference gateway, on real ports."""

from __future__ import annotations

import time
from collections.abc import Callable

from battletui.chain import MockChain
from battletui.gateway import (
    BreakerTransition,
    FailoverEvent,
    Gateway,
    GatewayEvent,
    Upstream,
    WsFeedEvent,
)
from battletui.providers import MockProvider
from battletui.scenario import Scenario


class LabError(RuntimeError):
    """The lab could not start (a port is taken, a server failed): exit code 3."""


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
        self.chain = MockChain(
            scenario.seed, scenario.chain.id, scenario.chain.block_time, clock=clock
        )
        self.providers: dict[str, MockProvider] = {}
        for index, spec in enumerate(scenario.providers, start=1):
            port = 0 if base_port is None else base_port + index
            self.providers[spec.id] = MockProvider(spec, self.chain, seed=scenario.seed, port=port)
        self._on_transition = on_transition
        self._on_ws_event = on_ws_event
        self._on_failover = on_failover
        self._on_gateway_event = on_gateway_event
        self._clock = clock
        self.gateway: Gateway | None = None

    async def start(self) -> None:
        try:
            for provider in self.providers.values():
                await provider.start()
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
        except OSError as error:
            await self.stop()
            raise LabError(f"the lab could not start: {error}") from error

    async def stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
        for provider in self.providers.values():
            await provider.stop()

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
