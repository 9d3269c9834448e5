"""What every request passes through before it is answered: the down check and the delay.

Holds the mutable part of a provider's faults (down, added latency and jitter) so that the
HTTP handlers and the fault methods share one source of truth.
"""

from __future__ import annotations

import asyncio
from typing import Final

from battletui.providers.latency import DelayModel, ErrorModel
from battletui.providers.resets import reset_transport
from battletui.scenario import ProviderSpec

_CANCEL_GRACE: Final = 5.0
"""How long a request on a reset connection waits for aiohttp to cancel it (it does so on
the next loop iteration; the bound only keeps a surprise from hanging forever)."""


class RequestRejected(Exception):
    """The request arrived on a connection that the provider has reset."""


class Gate:
    """Delays requests by the modelled latency and turns away requests while down."""

    def __init__(self, spec: ProviderSpec, seed: int) -> None:
        self.down = True
        self.added_latency = 0.0
        self.added_jitter = 0.0
        self._delays = DelayModel(spec, seed)
        self._errors = ErrorModel(spec, seed)

    async def enter(self, transport: asyncio.BaseTransport | None) -> None:
        """Wait out this request's latency; reset its connection if the provider is down.

        A request can only get here while down on a connection that raced the kill; it is
        reset like the others and the handler is cancelled by aiohttp when the loss lands.
        """
        if self.down:
            if transport is not None:
                reset_transport(transport)
            await asyncio.sleep(_CANCEL_GRACE)
            raise RequestRejected("provider is down")
        await asyncio.sleep(self.delay())

    def delay(self) -> float:
        """One draw of the modelled latency (spec plus degrade), for WebSocket messages."""
        return self._delays.draw(self.added_latency, self.added_jitter)

    def should_fail(self) -> bool:
        """True when this JSON-RPC request is one of the spec's ``error_rate``."""
        return self._errors.should_fail()
