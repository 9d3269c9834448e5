"""The Prometheus observer: a gateway's ``/metrics``, scraped about once a second and read
through a preset (:mod:`~battletui.observe.presets`).

It runs on the engine's measuring loop, so a scrape is kept cheap: one GET (httpx), then only
the lines of the preset's metrics are handed to prometheus-client's text parser (a gateway
can expose thousands of series; parsing them all would cost the loop milliseconds each
second). A breaker state that differs from the last one seen becomes a
:class:`~battletui.protocol.events.BreakerTransition` for the recorder, stamped with the
scrape's time and the reason ``seen in <metric> at scrape`` — the change happened at most one
scrape interval earlier, which is as precise as metrics can say.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from battletui.observe.base import (
    CannotSwitch,
    ObserverCallbacks,
    ObserverError,
    one_line,
    tell,
)
from battletui.observe.presets import CLOSED, HALF_OPEN, OPEN, BreakerReading, Preset
from battletui.observe.view import (
    N_A,
    NOT_OBSERVED,
    UNKNOWN_UPSTREAM,
    GatewayView,
    UpstreamView,
)
from battletui.processes import cancel_and_wait
from battletui.protocol.events import BreakerState, BreakerTransition, GatewayEvent

__all__ = ["SCRAPE_INTERVAL", "PrometheusObserver"]

_log = logging.getLogger(__name__)

SCRAPE_INTERVAL: Final = 1.0
"""Seconds between scrapes: a transition is dated to within this."""
REQUEST_TIMEOUT: Final = 1.0
STALE_AFTER: Final = 3.5
"""With no answer for this long (three scrapes missed) the view turns UNKNOWN."""
_ACCEPT: Final = {"Accept": "text/plain;version=0.0.4;q=1.0, */*;q=0.1"}
"""The classic text format: the one prometheus-client's text parser reads."""
_KNOWN: Final = frozenset({CLOSED, OPEN, HALF_OPEN})
NOTE_KIND: Final = "upstreams"
"""The gateway note's kind for a gateway-wide fact seen in the metrics (dshackle's counts)."""


class PrometheusObserver:
    """Scrapes ``url`` every ``interval`` seconds and reads it through ``preset`` for
    ``provider_ids``; ``upstream_names`` maps the gateway's upstream names to provider ids (a
    name not listed is taken as an id; names that are no provider are ignored and kept in
    :attr:`unknown_upstreams`)."""

    def __init__(
        self,
        url: str,
        preset: Preset,
        provider_ids: Sequence[str],
        *,
        upstream_names: Mapping[str, str] | None = None,
        callbacks: ObserverCallbacks | None = None,
        interval: float = SCRAPE_INTERVAL,
    ) -> None:
        self.url = url
        self.preset = preset
        self._ids = tuple(provider_ids)
        self._names = dict(upstream_names or {})
        self._callbacks = callbacks or ObserverCallbacks()
        self._interval = interval
        self._wanted = frozenset(preset.metrics)
        self._prefixes = tuple(f"{name}{end}" for name in preset.metrics for end in ("{", " "))
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False)
        self._states: dict[str, str] = {}
        """Provider -> the breaker state the last scrape said (or UNKNOWN / n/a)."""
        self._known: dict[str, str] = {}
        """Provider -> the last CLOSED / OPEN / HALF-OPEN seen (transitions start here)."""
        self._notes: dict[str, str] = {}
        self._fresh = GatewayView(observed=preset.observes_breakers)
        self._scraped_at = -math.inf
        self._reachable = False
        self._baseline = False
        self._failure: str | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.scrapes = 0
        """Scrapes answered and read."""
        self.bad_scrapes = 0
        """Scrapes answered with text the parser refused (logged)."""
        self.unknown_upstreams: set[str] = set()
        """Upstream names in the metrics that are no provider of the lab (ignored)."""

    @property
    def names(self) -> list[str]:
        return [f"prometheus {self.preset.name}"]

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="observer-prometheus")

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Until one scrape has been answered and read; ObserverError (one line) otherwise."""
        try:
            async with asyncio.timeout(timeout):
                await self._ready.wait()
        except TimeoutError:
            why = f" ({self._failure})" if self._failure else ""
            raise ObserverError(
                f"the gateway's metrics at {self.url} did not answer within {timeout:g}s{why}"
            ) from None

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task, swallow=True)
        await self._http.aclose()

    async def set_strategy(self, name: str) -> str:
        raise CannotSwitch(
            "strategy: a gateway observed through its metrics cannot be switched from here"
        )

    # -- the view ----------------------------------------------------------------------------

    @property
    def view(self) -> GatewayView:
        if time.monotonic() - self._scraped_at <= STALE_AFTER:
            return self._fresh
        silent = UNKNOWN_UPSTREAM if self.preset.observes_breakers else NOT_OBSERVED
        return GatewayView(
            reachable=False,
            upstreams=MappingProxyType(dict.fromkeys(self._ids, silent)),
            observed=self.preset.observes_breakers,
        )

    # -- scraping ----------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.scrape()
            except Exception:  # a bug here must not end observation for good
                _log.exception("prometheus scrape failed")
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))

    async def scrape(self) -> bool:
        """One scrape, applied to the view (and transitions told); False when the metrics
        did not answer or could not be read."""
        try:
            response = await self._http.get(self.url, headers=_ACCEPT)
            response.raise_for_status()
            text = response.text
        except httpx.HTTPError as error:
            self._unreachable(one_line(error) or "no answer")
            return False
        try:
            samples = self._samples(text)
        except (ValueError, IndexError, KeyError, TypeError) as error:
            self.bad_scrapes += 1
            _log.warning("gateway metrics at %s unreadable: %s", self.url, one_line(error))
            self._unreachable(f"unreadable: {one_line(error)}")
            return False
        self._apply(samples, time.monotonic())
        return True

    def _unreachable(self, why: str) -> None:
        if self._reachable:
            _log.info("gateway metrics at %s: %s", self.url, why)
        self._reachable = False
        self._failure = why

    def _samples(self, text: str) -> dict[str, list[Sample]]:
        """The preset's samples, by name: only their lines reach the parser."""
        kept = "\n".join(line for line in text.splitlines() if line.startswith(self._prefixes))
        found: dict[str, list[Sample]] = defaultdict(list)
        for family in text_string_to_metric_families(kept + "\n"):
            for sample in family.samples:
                if sample.name in self._wanted:
                    found[sample.name].append(sample)
        return found

    def _provider(self, name: str) -> str | None:
        provider = self._names.get(name, name)
        if provider in self._ids:
            return provider
        self.unknown_upstreams.add(name)
        return None

    def _apply(self, samples: Mapping[str, Sequence[Sample]], now: float) -> None:
        reading = self.preset.read(samples)
        breakers: dict[str, BreakerReading] = {}
        for name, said in reading.breakers.items():
            provider = self._provider(name)
            if provider is not None:
                breakers[provider] = said
        lags: dict[str, int] = {}
        for name, blocks in reading.lags.items():
            provider = self._provider(name)
            if provider is not None:
                lags[provider] = max(blocks, lags.get(provider, 0))
        upstreams: dict[str, UpstreamView] = {}
        for provider in self._ids:
            said_now = breakers.get(provider)
            if not self.preset.observes_breakers:
                state = N_A
            else:
                state = said_now.state if said_now is not None else self.preset.absent
            self._track(provider, state, said_now, now)
            upstreams[provider] = UpstreamView(breaker=state, lag=lags.get(provider))
        self._tell_notes(reading.notes, now)
        self._fresh = GatewayView(
            reachable=True,
            upstreams=MappingProxyType(upstreams),
            observed=self.preset.observes_breakers,
        )
        self._scraped_at = now
        self._reachable = True
        self._failure = None
        self.scrapes += 1
        if not self._baseline and self.unknown_upstreams and not breakers and not lags:
            _log.warning(
                "gateway metrics at %s name upstreams %s: none is a provider of the lab"
                " (map them in target.upstreams)",
                self.url,
                ", ".join(sorted(self.unknown_upstreams)),
            )
        self._baseline = True
        self._ready.set()

    def _track(self, provider: str, state: str, said: BreakerReading | None, now: float) -> None:
        """Remember ``state``; tell a transition when it differs from the last one known."""
        before = self._states.get(provider)
        self._states[provider] = state
        if state not in _KNOWN or said is None:
            return
        old = self._known.get(provider)
        if old is None and before == N_A and self._baseline:
            old = self.preset.start_state  # first mention after silence: from the start
        self._known[provider] = state
        if not self._baseline and state != CLOSED:
            # A gateway first read mid-session (started after a fault): no change is told,
            # as nothing saw the state before, but the journal says what was found.
            words = f"{provider} {state} when the gateway's metrics were first read"
            detail = f"{words} ({said.metric}" + (f": {said.detail})" if said.detail else ")")
            tell(self._callbacks.on_gateway_event, GatewayEvent(now, NOTE_KIND, None, detail))
        if not self._baseline or old is None or old == state:
            return  # the first scrape is where we start; it tells no change
        reason = f"seen in {said.metric} at scrape" + (f" ({said.detail})" if said.detail else "")
        transition = BreakerTransition(
            provider, BreakerState(old), BreakerState(state), now, reason
        )
        tell(self._callbacks.on_transition, transition)

    def _tell_notes(self, notes: Mapping[str, str], now: float) -> None:
        metric = self.preset.note_metric
        for key, words in sorted(notes.items()):
            if self._notes.get(key) == words:
                continue
            self._notes[key] = words
            detail = f"{words} (seen in {metric} at scrape)"
            tell(self._callbacks.on_gateway_event, GatewayEvent(now, NOTE_KIND, None, detail))
