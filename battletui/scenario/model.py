"""The typed scenario: what a session sets up, what load it drives, what it must meet.

Every value is already checked and in program units (seconds, fractions) when it gets here;
``load.py`` turns a file into these, ``dump.py`` turns them back into a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

ParamValue = str | int | float | bool
"""A parameter of an action: durations are float seconds, counts are ints, labels are str."""

ACTION_KINDS: Final = (
    "kill",
    "restore",
    "degrade",
    "flap",
    "ws-drop",
    "errors",
    "hang",
    "lag",
    "reorg",
    "strategy",
    "load",
    "mark",
)
"""Action kinds this version knows.

Provider faults name a provider as their target. ``reorg`` acts on the shared mock chain
(its value is the depth), ``strategy`` on the gateway (its value is the strategy name),
``load`` on battletui's own load (``pause``, ``resume`` or a new target rate in req/s) and
``mark`` is an operator note (its value is the label); those have no target.
"""

MIN_SESSION: Final = 1.0
"""The shortest session with a duration (seconds): shorter ones judge a handful of requests."""

LOAD_PAUSE: Final = "pause"
LOAD_RESUME: Final = "resume"

ERROR_KINDS: Final = ("server-error", "rate-limit", "rpc-error")
"""``errors`` fault kinds: HTTP 5xx; HTTP 429 with Retry-After and an Infura-style -32005
body; a JSON-RPC error inside HTTP 200."""

SUBSCRIPTIONS: Final = ("newHeads",)
"""WebSocket subscription kinds the workload can open."""

STRATEGIES: Final = ("fastest", "priority", "round-robin", "latency-weighted")
"""Gateway selection strategies this version implements."""

HTTP_METHODS: Final = (
    "eth_blockNumber",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getLogs",
    "eth_chainId",
    "net_version",
    "web3_clientVersion",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_call",
    "eth_estimateGas",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_feeHistory",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getBlockReceipts",
)
"""JSON-RPC methods the HTTP workload knows how to generate with sensible parameters."""

MIX_PRESETS: Final[Mapping[str, Mapping[str, int]]] = MappingProxyType(
    {
        # A dapp's front end: the head, token balances (one by one and through Multicall3),
        # the user's balance and nonce, gas for a button, its contract's recent events.
        "dapp": MappingProxyType(
            {
                "eth_blockNumber": 15,
                "eth_chainId": 5,
                "eth_getBlockByNumber": 10,
                "eth_call": 35,
                "eth_getBalance": 10,
                "eth_getTransactionCount": 5,
                "eth_estimateGas": 5,
                "eth_gasPrice": 5,
                "eth_getLogs": 10,
            }
        ),
        # A wallet: balances and nonces of its accounts, fee data, receipts of what it sent.
        "wallet": MappingProxyType(
            {
                "eth_getBalance": 30,
                "eth_getTransactionCount": 15,
                "eth_call": 10,
                "eth_gasPrice": 10,
                "eth_maxPriorityFeePerGas": 5,
                "eth_feeHistory": 10,
                "eth_estimateGas": 5,
                "eth_getTransactionReceipt": 10,
                "eth_blockNumber": 5,
            }
        ),
        # An indexer: ranges of logs, whole blocks and their receipts, a little behind the head.
        "indexer": MappingProxyType(
            {
                "eth_getLogs": 35,
                "eth_getBlockByNumber": 25,
                "eth_getBlockReceipts": 20,
                "eth_blockNumber": 10,
                "eth_getTransactionByHash": 5,
                "eth_getTransactionReceipt": 5,
            }
        ),
    }
)
"""``mix: dapp`` / ``wallet`` / ``indexer``: named mixes of realistic traffic."""

MAX_PROVIDERS: Final = 9
"""Providers are selected with keys 1-9 in the TUI."""

PROMETHEUS_PRESETS: Final = ("lasso", "erpc", "dshackle", "haproxy", "custom")
"""Metric-name presets of the Prometheus observer; ``custom`` names its metrics itself."""

CUSTOM_METRIC_KEYS: Final = (
    "breaker_state",
    "lag",
    "label",
    "state_label",
    "closed_values",
    "open_values",
    "half_open_values",
    "closed_states",
    "open_states",
    "half_open_states",
)
"""``target.observe.prometheus.metrics`` keys (``preset: custom``, docs/observers.md): the
breaker-state and head-lag metric names, the label naming the upstream (default
``upstream``), and how the breaker metric reads: one-hot over ``state_label`` (with the
gateway's own words in ``closed_states`` etc. when they are not closed/open/half_open), or
numeric codes (``closed_values`` etc., numbers separated by commas)."""

DEFAULT_UPSTREAM_HEADER: Final = "X-Upstream"
"""The response header naming the upstream that answered (the reference gateway's)."""


def _frozen(mapping: Mapping[str, ParamValue] | None = None) -> Mapping[str, ParamValue]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Action:
    """One thing done to a session: a keypress, a timeline entry and an API call are all this.

    ``params`` per kind (durations in seconds):
      kill / restore / ws-drop / hang / lag: none (restore clears every fault).
      degrade: ``latency`` (added latency), ``jitter`` (optional), ``relative`` (True when
        ``latency``/``jitter`` are steps on top of what is already added, written "+100ms"),
        ``method`` (only that JSON-RPC method is slowed; "" = every method).
      flap: ``down``, ``up`` (phase lengths), ``cycles`` (0 = until restored).
      errors: ``rate`` (0-1; 0 clears), ``kind`` (one of ERROR_KINDS), ``code`` (the
        JSON-RPC code for rpc-error: -32603 or -32000), ``retry_after`` (seconds, rate-limit).
      reorg (no target): ``depth`` (blocks replaced at the head of the mock chain).
      strategy (no target): ``name`` (one of STRATEGIES).
      load (no target): ``value``: ``"pause"``, ``"resume"`` or the new target rate (req/s).
      mark (no target): ``label``.
    """

    kind: str
    target: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=_frozen)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen(self.params))

    def describe(self) -> str:
        """Short human text for logs and reports, e.g. ``degrade gamma +100ms``."""
        from battletui.scenario.durations import format_duration

        p = self.params
        head = " ".join(part for part in (self.kind, self.target or "") if part)
        if self.kind == "mark":
            return f"mark {p.get('label', '')!r}"
        if self.kind == "reorg":
            return f"reorg depth {p.get('depth', 1)}"
        if self.kind == "strategy":
            return f"strategy {p.get('name', '')}"
        if self.kind == "load":
            value = p.get("value", "")
            if value == LOAD_PAUSE:
                return "pause the load"
            if value == LOAD_RESUME:
                return "resume the load"
            return f"load {value:g} req/s" if isinstance(value, int | float) else f"load {value}"
        if self.kind == "degrade":
            rel = bool(p.get("relative"))
            text = f"{head} {format_duration(float(p.get('latency', 0.0)), relative=rel)}"
            if p.get("jitter"):
                text += f" jitter {format_duration(float(p['jitter']), relative=rel)}"
            if p.get("method"):
                text += f" on {p['method']}"
            return text
        if self.kind == "flap":
            cycles = int(p.get("cycles", 0))
            repeat = "until restored" if cycles == 0 else f"{cycles} cycle"
            if cycles > 1:
                repeat += "s"
            return (
                f"{head} down {format_duration(float(p.get('down', 2.0)))}"
                f" up {format_duration(float(p.get('up', 3.0)))} {repeat}"
            )
        if self.kind == "errors":
            rate = float(p.get("rate", 0.0))
            if rate == 0:
                return f"{head} off"
            kind = str(p.get("kind", "server-error"))
            extra = ""
            if kind == "rpc-error":
                extra = f" {p.get('code', -32603)}"
            elif kind == "rate-limit":
                extra = f" retry-after {format_duration(float(p.get('retry_after', 1.0)))}"
            return f"{head} {rate * 100:g}% {kind}{extra}"
        return head


@dataclass(frozen=True)
class TimelineEntry:
    """An action scheduled ``at`` seconds after the session starts."""

    at: float
    action: Action


@dataclass(frozen=True)
class ChainSpec:
    id: int = 1
    block_time: float = 1.0


@dataclass(frozen=True)
class ProviderSpec:
    """A mock provider's normal behaviour, before any fault."""

    id: str
    latency: float = 0.010
    jitter: float = 0.0
    error_rate: float = 0.0


@dataclass(frozen=True)
class BreakerSpec:
    """Per-provider circuit breaker of the reference gateway."""

    failures: int = 5
    """Consecutive failures that open a closed breaker."""
    open_for: float = 5.0
    """Seconds an open breaker stays open before it lets probes through (half-open)."""
    half_open_probes: int = 1
    """Requests allowed through at once while half-open."""
    successes: int = 2
    """Consecutive successful probes that close a half-open breaker."""
    window: int = 20
    """Calls in the sliding window judged by ``failure_rate``."""
    failure_rate: float = 0.5
    """Failure share over the window that opens the breaker (0-1)."""
    min_calls: int = 10
    """Calls the window must hold before ``failure_rate`` is judged."""
    max_open_for: float = 60.0
    """Cap of the open time as it doubles on repeated opens (exponential backoff)."""

    def __post_init__(self) -> None:
        if self.max_open_for < self.open_for:  # the cap can never be below the first wait
            object.__setattr__(self, "max_open_for", self.open_for)


@dataclass(frozen=True)
class GatewaySpec:
    strategy: str = "fastest"
    breaker: BreakerSpec = field(default_factory=BreakerSpec)
    timeout: float = 2.0
    """Deadline for one client request, failover attempts included."""
    attempt_timeout: float = 1.0
    """Deadline for one upstream attempt (cut short by what is left of ``timeout``)."""
    ws_stall_timeout: float = 3.0
    """Seconds without a new head before the gateway moves its subscription elsewhere."""
    ws_backfill_limit: int = 128
    """Most heads the gateway fetches over HTTP to fill a gap after a switch."""
    lag_blocks: int = 3
    """A provider whose head is more than this many blocks behind the best is demoted."""


@dataclass(frozen=True)
class HttpLoadSpec:
    rate: float = 100.0
    """Intended arrivals per second (open model: sent on schedule whatever the answers do).
    0 turns HTTP load off."""
    mix: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(
            {"eth_blockNumber": 70, "eth_getBlockByNumber": 20, "eth_chainId": 10}
        )
    )
    """Method -> weight (a preset's weights when ``preset`` is set)."""
    preset: str | None = None
    """``mix: dapp`` (``MIX_PRESETS``): the parameters follow that kind of client too (an
    indexer reads whole blocks a little behind the head, a dapp the latest state)."""
    timeout: float = 5.0
    """Client-side give-up time for one request."""
    closed: bool = False
    """``rate: max``: closed loop instead of the open model. Each connection sends its next
    request as soon as the answer to the last arrives, which finds the target's capacity
    (``rate`` is then unused)."""
    workers: int | None = None
    """Load-generator processes, each with its own event loop and its share of the
    schedule; None (``auto``): what the machine can spare (see ``workload.workers``)."""
    connections: int = 64
    """Keep-alive connections per worker at most (the closed loop's concurrency too). A
    request finding them all busy waits for one: an overloaded target is not flooded with
    new connections."""


@dataclass(frozen=True)
class WsLoadSpec:
    subscribers: int = 0
    """WebSocket clients subscribed through the gateway; 0 turns WebSocket load off."""
    subscription: str = "newHeads"


@dataclass(frozen=True)
class WorkloadSpec:
    http: HttpLoadSpec = field(default_factory=HttpLoadSpec)
    ws: WsLoadSpec = field(default_factory=WsLoadSpec)
    stale_blocks: int = 2
    """How many blocks behind the canonical head (when the request was sent) an answer may
    be before it counts as stale: one block is a race with the block boundary, not a fault."""


@dataclass(frozen=True)
class SloSpec:
    """Pass/fail objectives. ``None`` means not checked. Latencies are corrected, in seconds."""

    success_rate: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None
    ws_gaps: int | None = None
    """Most gaps (heads skipped by number) any WebSocket subscriber may see, all together."""
    ws_duplicates: int | None = None
    """Most duplicate heads (a hash delivered twice) the subscribers may see."""
    ws_max_stall: float | None = None
    """Longest time allowed between two heads on one subscription (seconds)."""
    stale_rate: float | None = None
    """Highest share of checked answers (HTTP and WebSocket heads) that may be stale."""
    wrong_answers: int | None = None
    """Most answers that may contradict the canonical chain (a replaced block, a wrong
    balance...); 0 is the usual objective."""


@dataclass(frozen=True)
class PrometheusSpec:
    """A gateway's Prometheus ``/metrics`` to scrape for breaker states and lag."""

    url: str
    preset: str
    """One of PROMETHEUS_PRESETS: whose metric names to read."""
    metrics: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """``preset: custom`` only: CUSTOM_METRIC_KEYS -> metric or label name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))


@dataclass(frozen=True)
class ObserveSpec:
    """How the engine learns what only the gateway knows; everything is optional."""

    upstream_header: str | None = DEFAULT_UPSTREAM_HEADER
    """Response header naming the upstream that answered; None: the gateway sends none."""
    health: str | None = None
    """A JSON health URL in the reference gateway's ``/health`` format."""
    events: str | None = None
    """A WebSocket event stream in the reference gateway's ``/events`` format."""
    prometheus: PrometheusSpec | None = None


@dataclass(frozen=True)
class TargetSpec:
    """The gateway under test when it is not the reference one (``target:``).

    Every URL is on this machine (loopback): battletui only sends load to itself.
    """

    http: str
    """Where the workload sends JSON-RPC over HTTP."""
    ws: str | None = None
    """Where WebSocket subscribers connect (needed by WebSocket load and SLOs)."""
    upstreams: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The gateway's upstream names -> provider ids; a name not listed is taken as an id."""
    observe: ObserveSpec = field(default_factory=ObserveSpec)

    def __post_init__(self) -> None:
        object.__setattr__(self, "upstreams", MappingProxyType(dict(self.upstreams)))

    def provider_of(self, upstream: str) -> str:
        """The provider id behind one of the gateway's upstream names."""
        return self.upstreams.get(upstream, upstream)


@dataclass(frozen=True)
class Scenario:
    name: str
    duration: float
    """Seconds the session runs; 0: until it is quit (an open-ended demo)."""
    providers: tuple[ProviderSpec, ...]
    seed: int = 0
    description: str = ""
    chain: ChainSpec = field(default_factory=ChainSpec)
    gateway: GatewaySpec = field(default_factory=GatewaySpec)
    workload: WorkloadSpec = field(default_factory=WorkloadSpec)
    slo: SloSpec = field(default_factory=SloSpec)
    timeline: tuple[TimelineEntry, ...] = ()
    target: TargetSpec | None = None
    """An external gateway under test; None: the reference gateway (``gateway:``)."""

    @property
    def open_ended(self) -> bool:
        """``duration: 0``: the session runs until someone quits it."""
        return self.duration == 0

    @property
    def provider_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.providers)

    def provider(self, provider_id: str) -> ProviderSpec:
        for spec in self.providers:
            if spec.id == provider_id:
                return spec
        raise KeyError(provider_id)
