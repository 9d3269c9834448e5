"""The in-process rig: the lab's server (mock chain, providers) and the reference gateway in the
test's own event loop, so gateway tests can reach into providers directly.

Sessions never use this: there the lab and the gateway are processes of their own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from battletui.chain import MockChain
from battletui.engine.errors import SessionStartError
from battletui.gateway import Gateway, Upstream
from battletui.lab import LabServer, LabStartError
from battletui.protocol.events import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent
from battletui.providers import MockProvider
from battletui.scenario import Scenario


class InProcessRig:
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
        self._on_transition = on_transition
        self._on_ws_event = on_ws_event
        self._on_failover = on_failover
        self._on_gateway_event = on_gateway_event
        self._clock = clock
        self.gateway: Gateway | None = None

    async def start(self) -> None:
        try:
            await self._server.start()
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
            raise SessionStartError(str(error)) from error
        except OSError as error:
            await self.stop()
            raise SessionStartError(f"the lab could not start: {error}") from error

    async def stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
        await self._server.stop()

    @property
    def gateway_url(self) -> str:
        if self.gateway is None:
            raise SessionStartError("the lab is not started")
        return self.gateway.url

    @property
    def gateway_ws_url(self) -> str:
        if self.gateway is None:
            raise SessionStartError("the lab is not started")
        return self.gateway.ws_url

    def provider(self, provider_id: str) -> MockProvider:
        return self.providers[provider_id]
