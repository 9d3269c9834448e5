"""Several observers of one gateway read as one, and the observer of nothing.

A target may name a health URL, metrics and an upstream header at once; the session sees one
``Observer``. Per upstream the first observer (in the order given) that observes its breaker
says the breaker; lag, rate limits, strategy and the WebSocket feed come from the first that
says them at all. Where none observes, the view says ``n/a``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import MappingProxyType

from battletui.observe.base import CannotSwitch, Observer, ObserverError
from battletui.observe.view import (
    NOT_OBSERVED,
    GatewayView,
    ShareSource,
    UpstreamView,
)

__all__ = ["CombinedObserver"]


class CombinedObserver:
    """``parts`` as one observer; ``also`` adds to :attr:`names` what observes outside them
    (the upstream header, read by the workload)."""

    def __init__(
        self,
        parts: Sequence[Observer],
        provider_ids: Sequence[str],
        *,
        share_source: ShareSource = "header",
        also: Sequence[str] = (),
    ) -> None:
        self.parts = tuple(parts)
        self._ids = tuple(provider_ids)
        self._share_source: ShareSource = share_source
        self._also = tuple(also)
        self._nothing = GatewayView(
            upstreams=MappingProxyType(dict.fromkeys(self._ids, NOT_OBSERVED)),
            observed=False,
            share_source=share_source,
        )

    @property
    def names(self) -> list[str]:
        return [name for part in self.parts for name in part.names] + list(self._also)

    async def start(self) -> None:
        for part in self.parts:
            await part.start()

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Every part ready within one shared ``timeout``; the first that is not says so."""
        deadline = time.monotonic() + timeout
        for part in self.parts:
            await part.wait_ready(max(0.01, deadline - time.monotonic()))

    async def stop(self) -> None:
        for part in self.parts:
            await part.stop()

    async def set_strategy(self, name: str) -> str:
        """The first observer that can switch the gateway does; ObserverError when none can."""
        refusal: ObserverError | None = None
        for part in self.parts:
            try:
                return await part.set_strategy(name)
            except CannotSwitch as error:
                refusal = refusal or error
            except ObserverError as error:
                raise error from None  # it can switch, and said no: that is the answer
        raise refusal or CannotSwitch(
            "strategy: nothing observes this gateway; its strategy cannot be switched from here"
        )

    @property
    def view(self) -> GatewayView:
        if not self.parts:
            return self._nothing
        views = [part.view for part in self.parts]
        if len(views) == 1:
            only = views[0]
            if only.share_source == self._share_source:
                return only
            return GatewayView(
                reachable=only.reachable,
                strategy=only.strategy,
                ws_upstream=only.ws_upstream,
                ws_observed=only.ws_observed,
                upstreams=only.upstreams,
                observed=only.observed,
                share_source=self._share_source,
            )
        upstreams = {pid: _merged([v.upstream(pid) for v in views]) for pid in self._ids}
        return GatewayView(
            reachable=all(v.reachable for v in views),
            strategy=next((v.strategy for v in views if v.strategy is not None), None),
            ws_upstream=next((v.ws_upstream for v in views if v.ws_upstream is not None), None),
            ws_observed=any(v.ws_observed for v in views),
            upstreams=MappingProxyType(upstreams),
            observed=any(v.observed for v in views),
            share_source=self._share_source,
        )


def _merged(seen: Sequence[UpstreamView]) -> UpstreamView:
    breaker = next((u for u in seen if u.observed), NOT_OBSERVED)
    return UpstreamView(
        breaker=breaker.breaker,
        breaker_left=breaker.breaker_left,
        rate_limited_for=next(
            (u.rate_limited_for for u in seen if u.rate_limited_for is not None), None
        ),
        lag=next((u.lag for u in seen if u.lag is not None), None),
        lagging=any(u.lagging for u in seen),
    )
