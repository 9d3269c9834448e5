"""What every request passes through before it is answered: the down check, the hang, the
delay (global and per method) and the ``errors`` draw.

Holds the mutable part of a provider's faults (down, hung, added latency and jitter, the
``errors`` fault) so that the HTTP and WebSocket handlers and the fault methods share one
source of truth.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Final

from battletui.providers.injected import ErrorFault
from battletui.providers.latency import DelayModel, ErrorModel, RateMeter
from battletui.providers.resets import reset_transport
from battletui.scenario import ProviderSpec

_CANCEL_GRACE: Final = 5.0
"""How long a request on a reset connection waits for aiohttp to cancel it (it does so on
the next loop iteration; the bound only keeps a surprise from hanging forever)."""


class RequestRejected(Exception):
    """The request arrived on a connection that the provider has reset."""


class Gate:
    """Delays requests by the modelled latency, turns them away while down, holds them
    while hung, and draws the injected errors."""

    def __init__(self, spec: ProviderSpec, seed: int) -> None:
        self.down = True
        self.added_latency = 0.0
        self.added_jitter = 0.0
        self.method_latency: dict[str, float] = {}
        self.method_jitter: dict[str, float] = {}
        self.error_fault: ErrorFault | None = None
        self.meter = RateMeter()
        self._delays = DelayModel(spec, seed)
        self._errors = ErrorModel(spec, seed)
        self._fault_rng = random.Random(f"battletui/fault-errors/{seed}/{spec.id}")
        self._hang: asyncio.Event | None = None
        self._held: set[asyncio.BaseTransport] = set()

    # -- the way in ----------------------------------------------------------------------

    async def enter(self, transport: asyncio.BaseTransport | None) -> None:
        """Wait out this request's latency; reset its connection if the provider is down;
        hold it (never to be answered) while hung.

        A request can only get here while down on a connection that raced the kill; it is
        reset like the others and the handler is cancelled by aiohttp when the loss lands.
        """
        if self.down:
            if transport is not None:
                reset_transport(transport)
            await asyncio.sleep(_CANCEL_GRACE)
            raise RequestRejected("provider is down")
        await self.hold_if_hung(transport)
        await asyncio.sleep(self.delay())
        await self.hold_if_hung(transport)

    def delay(self) -> float:
        """One draw of the modelled latency (spec plus degrade), for WebSocket messages."""
        return self._delays.draw(self.added_latency, self.added_jitter)

    def method_delay(self, methods: Iterable[str]) -> float:
        """The per-method added latency of a request calling ``methods`` (a batch waits for
        its slowest member); 0 when none of them is degraded."""
        delay = 0.0
        for name in methods:
            if name in self.method_latency or name in self.method_jitter:
                drawn = self._delays.draw_added(
                    self.method_latency.get(name, 0.0), self.method_jitter.get(name, 0.0)
                )
                delay = max(delay, drawn)
        return delay

    # -- errors --------------------------------------------------------------------------

    def should_fail(self) -> bool:
        """True when this JSON-RPC request is one of the spec's ``error_rate``."""
        return self._errors.should_fail()

    def draw_error(self) -> ErrorFault | None:
        """The ``errors`` fault when this request (one per HTTP request or WebSocket frame)
        is drawn to fail by it, else None."""
        fault = self.error_fault
        if fault is None or fault.rate <= 0:
            return None
        return fault if self._fault_rng.random() < fault.rate else None

    # -- hang ----------------------------------------------------------------------------

    @property
    def hung(self) -> bool:
        return self._hang is not None

    def hang(self) -> None:
        """From now on hold every request (idempotent)."""
        if self._hang is None:
            self._hang = asyncio.Event()

    def release(self) -> list[asyncio.BaseTransport]:
        """End the hang: reset the connection of every held HTTP request (their handlers
        end when aiohttp sees the loss) and let WebSocket traffic flow again.

        Returns the transports reset, so the caller can wait for their sockets to close.
        """
        event, self._hang = self._hang, None
        held, self._held = list(self._held), set()
        for transport in held:
            reset_transport(transport)
        if event is not None:
            event.set()
        return held

    async def hold_if_hung(self, transport: asyncio.BaseTransport | None) -> None:
        """While hung, wait for the end of the hang, then fail: held requests are reset,
        never answered. Holds nothing but this coroutine and a set entry."""
        event = self._hang
        if event is None:
            return
        if transport is not None:
            self._held.add(transport)
        try:
            await event.wait()
        finally:
            if transport is not None:
                self._held.discard(transport)
        if transport is not None:
            reset_transport(transport)
        await asyncio.sleep(_CANCEL_GRACE)
        raise RequestRejected("provider was hung")

    async def resumed(self) -> None:
        """Return at once unless hung; else when the hang ends (WebSocket traffic)."""
        while self._hang is not None:
            await self._hang.wait()
