"""The frozen picture of a session that the screen (or any viewer) draws from.

A session builds one of these a few times a second; viewers never reach into the engine.
Everything in it was measured: see the engine for where each figure comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from battletui.metrics.answers import AnswerSummary
from battletui.metrics.events import Event
from battletui.metrics.instrument import InstrumentView
from battletui.metrics.latency import HistogramBars, LatencyStats
from battletui.metrics.ws import WsView

ProviderHealth = Literal["UP", "DOWN", "SLOW", "HUNG", "UNKNOWN"]
SessionPhase = Literal["starting", "running", "ending", "ended"]
ShareSource = Literal["header", "received"]
"""Where the screen's traffic share comes from: the gateway's upstream header on each answer
(``header``), or what each provider counted receiving (``received``: no header to read)."""


@dataclass(frozen=True)
class ProviderView:
    """One provider as the screen shows it.

    ``health`` comes from the engine's own probes over the socket (refused = DOWN, slower than
    its normal latency by a margin = SLOW, accepted but unanswered = HUNG); ``breaker`` from
    the gateway's own observers (``/health`` and its event stream, or its metrics;
    ``UNKNOWN`` while they do not answer, ``n/a`` where nothing observes breakers); ``share``
    from the upstream header (``X-Upstream``) of the responses the workload received in the
    last seconds; ``received`` from the provider's own counts.
    """

    key: int
    id: str
    url: str
    health: ProviderHealth
    breaker: str
    share: float
    served: int
    probe_ms: float | None
    added_latency_ms: float
    flapping: bool = False
    serving_ws: bool = False
    """The gateway's upstream WebSocket subscription is on this provider."""
    faults: tuple[str, ...] = ()
    """Active faults in short words ("hung", "errors 50% rate-limit", "eth_getLogs +1s")."""
    breaker_left: float | None = None
    """Seconds until an open breaker lets probes through."""
    rate_limited_for: float | None = None
    """Seconds the gateway still avoids this provider after a 429."""
    lag: int | None = None
    """Blocks behind the best provider, as the gateway's probes see it."""
    failovers_from: int = 0
    """Requests the gateway had to take elsewhere after this provider failed them."""
    error_rate: float = 0.0
    error_kind: str | None = None
    received: int = 0
    """JSON-RPC requests the provider itself received so far (counted at the provider)."""
    received_share: float = 0.0
    """Its share of what all providers received over the last seconds: the traffic share
    that holds for any gateway, with or without an ``X-Upstream`` header."""


@dataclass(frozen=True)
class SloStatus:
    name: str
    target: str
    actual: str
    passed: bool | None
    """None while there is no data to judge."""


@dataclass(frozen=True)
class Snapshot:
    scenario: str
    phase: SessionPhase
    elapsed: float
    duration: float
    target_rate: float
    strategy: str
    providers: tuple[ProviderView, ...] = ()
    requests: int = 0
    success_rate: float | None = None
    window_success_rate: float | None = None
    rate: float = 0.0
    errors: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    failovers: int = 0
    failed_over: int = 0
    """Requests answered only after a failover (client side)."""
    failover_latency: LatencyStats = field(default_factory=LatencyStats)
    """Their corrected latency as the client measured it."""
    answers: AnswerSummary = field(default_factory=AnswerSummary)
    """Answers judged against the canonical chain: stale and wrong ones, per method and
    per upstream."""
    latency_window: LatencyStats = field(default_factory=LatencyStats)
    latency_total: LatencyStats = field(default_factory=LatencyStats)
    bars: HistogramBars = field(default_factory=HistogramBars)
    rate_series: tuple[float, ...] = ()
    p95_series: tuple[float, ...] = ()
    error_series: tuple[float, ...] = ()
    events: tuple[Event, ...] = ()
    ws: WsView | None = None
    """None when the scenario has no WebSocket subscribers."""
    slos: tuple[SloStatus, ...] = ()
    """The scenario's SLOs over the whole session so far (what the report will judge)."""
    now_slos: tuple[SloStatus, ...] = ()
    """The same SLOs over the last few complete seconds (``now_seconds``): what the room
    sees now."""
    now_seconds: int = 0
    now_trend: tuple[str, ...] = ()
    """The verdict of now, second by second, oldest first: pass, fail, none, inconclusive."""
    session_dir: str | None = None
    gateway_url: str | None = None
    """Where the users of the gateway under test send their requests."""
    gateway_external: bool = False
    """The gateway under test is someone else's (``target:``), not the reference one."""
    message: str | None = None
    """A line for the operator (e.g. why an action failed), shown until the next one."""
    instrument: InstrumentView = field(default_factory=InstrumentView)
    """The load generator's own state: when it falls behind, latency measures it, not the
    gateway, and the verdict is inconclusive."""
    load: bool = True
    """battletui sends the load; False in ``battletui lab``, where someone else does (no
    duration, no SLOs: the top line says so)."""
    paused: bool = False
    """The operator paused the load (``space``, a ``load: pause`` action): 0 req/s sent."""
    closed_loop: bool = False
    """``rate: max``: each connection sends as soon as it is answered; no target rate."""
    share_source: ShareSource = "header"
    """What the traffic bars show: ``ProviderView.share`` (the gateway's upstream header) or,
    when the gateway sends no such header, ``ProviderView.received_share``."""

    @property
    def verdict(self) -> bool | None:
        """True when every judged SLO holds, False when one breaks, None with nothing judged."""
        return _verdict(self.slos)

    @property
    def now_verdict(self) -> bool | None:
        """``verdict`` over the last few seconds only."""
        return _verdict(self.now_slos)


def _verdict(slos: tuple[SloStatus, ...]) -> bool | None:
    judged = [s.passed for s in slos if s.passed is not None]
    if not judged:
        return None
    return all(judged)
