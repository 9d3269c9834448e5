"""Where known gateways put breaker states and head lag in their Prometheus metrics.

Each preset reads the samples of one scrape (parsed by prometheus-client) and says, per
upstream *as the gateway names it*, the breaker state and the lag it found, and which metric
said so. The label names and value meanings come from each project's own source (cited at
each preset); nothing is inferred that the metrics do not say: where a gateway's metrics name
no breaker per upstream, the preset observes none and the screen says ``n/a``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.samples import Sample

from battletui.observe.view import N_A, UNKNOWN
from battletui.scenario.model import CUSTOM_METRIC_KEYS

__all__ = [
    "CLOSED",
    "CUSTOM_KEYS",
    "HALF_OPEN",
    "OPEN",
    "PRESETS",
    "BreakerReading",
    "CustomPreset",
    "DshacklePreset",
    "ErpcPreset",
    "HaproxyPreset",
    "LassoPreset",
    "Preset",
    "Reading",
    "preset_named",
]

CLOSED: Final = "CLOSED"
OPEN: Final = "OPEN"
HALF_OPEN: Final = "HALF-OPEN"
_WORST: Final = {OPEN: 3, HALF_OPEN: 2, CLOSED: 1, UNKNOWN: 0}
"""Several series for one upstream (per chain, per breaker): the worst one is shown."""
_STATE_WORDS: Final = {
    "closed": CLOSED,
    "open": OPEN,
    "half_open": HALF_OPEN,
    "half-open": HALF_OPEN,
    "halfopen": HALF_OPEN,
}


@dataclass(frozen=True)
class BreakerReading:
    state: str
    """CLOSED, OPEN, HALF-OPEN or UNKNOWN."""
    metric: str
    """The metric that said it (for the transition's reason)."""
    detail: str = ""


@dataclass
class Reading:
    """What one scrape said, keyed by the gateway's upstream names."""

    breakers: dict[str, BreakerReading] = field(default_factory=dict)
    lags: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """Gateway-wide facts that name no upstream (key -> words), e.g. per-chain counts."""

    def breaker(self, upstream: str, reading: BreakerReading) -> None:
        """Keep the worse of two readings for the same upstream."""
        old = self.breakers.get(upstream)
        if old is None or _WORST[reading.state] > _WORST[old.state]:
            self.breakers[upstream] = reading

    def lag(self, upstream: str, blocks: float) -> None:
        """Keep the largest lag seen for the same upstream."""
        value = max(0, int(blocks))
        self.lags[upstream] = max(value, self.lags.get(upstream, 0))


class Preset:
    """One gateway's metric names. Subclasses say which samples they read and how."""

    name: str = ""
    metrics: tuple[str, ...] = ()
    """Sample names read (everything else in a scrape is skipped before parsing)."""
    observes_breakers: bool = True
    absent: str = UNKNOWN
    """An upstream of the lab that the breaker metric does not mention: UNKNOWN (the
    gateway lists every upstream it has, so it has not said) or n/a (the metric only appears
    once something happened, so silence says nothing)."""
    note_metric: str = ""
    """The metric gateway-wide notes come from (for their wording)."""
    start_state: str | None = None
    """The state a breaker is in before its metric first mentions it (all start CLOSED);
    None when a first mention cannot be told from a change."""

    def read(self, samples: Mapping[str, Sequence[Sample]]) -> Reading:
        raise NotImplementedError


def _label(sample: Sample, name: str) -> str | None:
    value = sample.labels.get(name)
    return value if value else None


class LassoPreset(Preset):
    """Lasso RPC (github.com/jaxernst/lasso-rpc, ``lib/lasso/observability/prometheus.ex``,
    ``route_samples/1``):

    * ``lasso_circuit_state{profile, chain, provider, transport, state}`` is one-hot: for
      each transport (``http``, ``ws``) the sample of the current ``state`` (``closed``,
      ``open``, ``half_open``) is 1, the others 0; all three are 0 when Lasso does not know
      the circuit. The HTTP circuit is shown (the workload is HTTP), the WebSocket one only
      for a provider that has no HTTP circuit.
    * ``lasso_provider_head_lag_blocks{profile, chain, provider[, transport]}`` is the
      blocks behind the consensus head (``max(-lag, 0)``), per transport in newer versions;
      the largest is shown.
    """

    name = "lasso"
    state_metric: Final = "lasso_circuit_state"
    lag_metric: Final = "lasso_provider_head_lag_blocks"
    metrics = (state_metric, lag_metric)

    def read(self, samples: Mapping[str, Sequence[Sample]]) -> Reading:
        reading = Reading()
        by_transport: dict[tuple[str, str], list[Sample]] = defaultdict(list)
        for sample in samples.get(self.state_metric, ()):
            provider = _label(sample, "provider")
            if provider is not None:
                by_transport[provider, sample.labels.get("transport", "http")].append(sample)
        providers = {provider for provider, _ in by_transport}
        for provider in providers:
            transport = "http" if (provider, "http") in by_transport else "ws"
            for series in _one_hot_groups(by_transport.get((provider, transport), [])):
                state = _one_hot_state(series, "state")
                reading.breaker(provider, BreakerReading(state, self.state_metric))
        for sample in samples.get(self.lag_metric, ()):
            provider = _label(sample, "provider")
            if provider is not None:
                reading.lag(provider, sample.value)
        return reading


class ErpcPreset(Preset):
    """eRPC (github.com/erpc/erpc):

    * ``erpc_upstream_breaker_state_change_total{project, upstream, transition}``
      (``telemetry/metrics.go``), incremented on every transition of any of the upstream's
      breakers (one per failsafe entry, ``upstream/upstream.go`` ``makeBreakerTransitionHook``)
      with ``transition`` = ``<from>_to_<to>`` over ``closed``, ``open``, ``half_open``
      (``failsafe/breaker.go`` ``State.String``). Every breaker starts closed, so the totals
      say exactly how many are open (``closed_to_open + half_open_to_open -
      open_to_half_open``) and half-open (``open_to_half_open - half_open_to_closed -
      half_open_to_open``): OPEN if any is open, else HALF-OPEN if any is half-open, else
      CLOSED. An upstream with no transition yet is ``n/a``: eRPC cannot tell a breaker that
      never tripped from no breaker at all.
    * ``erpc_upstream_cordoned{project, vendor, network, upstream, category, reason}``
      (``telemetry/metrics.go``; set 1 on cordon, 0 on uncordon in ``health/tracker.go``): a
      cordon for every method (``category="*"``) takes the upstream out of routing, which
      reads as OPEN with the cordon's reason; per-method cordons are not shown.
    * ``erpc_upstream_block_head_lag{project, vendor, network, upstream}``
      (``telemetry/metrics.go``, set in ``health/tracker.go``): blocks behind the most
      up-to-date upstream.
    """

    name = "erpc"
    change_metric: Final = "erpc_upstream_breaker_state_change_total"
    cordon_metric: Final = "erpc_upstream_cordoned"
    lag_metric: Final = "erpc_upstream_block_head_lag"
    metrics = (change_metric, cordon_metric, lag_metric)
    absent = N_A
    start_state = CLOSED

    def read(self, samples: Mapping[str, Sequence[Sample]]) -> Reading:
        reading = Reading()
        totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for sample in samples.get(self.change_metric, ()):
            upstream = _label(sample, "upstream")
            transition = _label(sample, "transition")
            if upstream is not None and transition is not None:
                totals[upstream][transition] += sample.value
        for upstream, counts in totals.items():
            reading.breaker(upstream, BreakerReading(_erpc_state(counts), self.change_metric))
        for sample in samples.get(self.cordon_metric, ()):
            upstream = _label(sample, "upstream")
            if upstream is not None and sample.labels.get("category") == "*" and sample.value:
                why = sample.labels.get("reason") or "no reason given"
                reading.breaker(
                    upstream, BreakerReading(OPEN, self.cordon_metric, f"cordoned: {why}")
                )
        for sample in samples.get(self.lag_metric, ()):
            upstream = _label(sample, "upstream")
            if upstream is not None:
                reading.lag(upstream, sample.value)
        return reading


def _erpc_state(counts: Mapping[str, float]) -> str:
    def n(transition: str) -> float:
        return counts.get(transition, 0.0)

    opened = n("closed_to_open") + n("half_open_to_open") - n("open_to_half_open")
    half = n("open_to_half_open") - n("half_open_to_closed") - n("half_open_to_open")
    if opened < 0 or half < 0:
        return UNKNOWN  # totals that no sequence of transitions gives (a partial reset)
    if opened > 0:
        return OPEN
    return HALF_OPEN if half > 0 else CLOSED


class DshacklePreset(Preset):
    """dshackle (github.com/emeraldpay/dshackle, ``src/metrics/state.rs``
    ``UpstreamsCollector``; the legacy Kotlin ``upstream/Multistream.kt`` had the same):

    * ``dshackle_upstreams_availability{chain, status}`` counts the upstreams of a chain in
      each status (``ok``, ``lagging``, ``immature``, ``syncing``, ``unavailable``). It does not
      say *which* upstream, so breakers stay ``n/a``; the counts become a gateway note when
      they change.
    * ``dshackle_upstreams_lag{chain, upstream}``: blocks behind the chain head (0 when
      dshackle does not know).
    """

    name = "dshackle"
    availability_metric: Final = "dshackle_upstreams_availability"
    lag_metric: Final = "dshackle_upstreams_lag"
    metrics = (availability_metric, lag_metric)
    observes_breakers = False
    absent = N_A
    note_metric = availability_metric

    def read(self, samples: Mapping[str, Sequence[Sample]]) -> Reading:
        reading = Reading()
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for sample in samples.get(self.availability_metric, ()):
            chain = sample.labels.get("chain", "")
            status = sample.labels.get("status")
            if status:
                counts[chain][status] = int(sample.value)
        for chain, statuses in sorted(counts.items()):
            total = sum(statuses.values())
            ok = statuses.get("ok", 0)
            others = [
                f"{n} {status}" for status, n in sorted(statuses.items()) if n and status != "ok"
            ]
            words = f"{ok} of {total} upstreams ok" + (f", {', '.join(others)}" if others else "")
            reading.notes[chain] = f"{chain}: {words}" if chain else words
        for sample in samples.get(self.lag_metric, ()):
            upstream = _label(sample, "upstream")
            if upstream is not None:
                reading.lag(upstream, sample.value)
        return reading


class HaproxyPreset(Preset):
    """HAProxy's built-in Prometheus exporter (``addons/promex/service-prometheus.c``,
    ``promex_srv_status``), HAProxy 2.4 and newer:

    * ``haproxy_server_status{proxy, server, state}`` is one-hot over ``state`` = ``DOWN``,
      ``UP``, ``MAINT``, ``DRAIN``, ``NOLB``. HAProxy has no circuit breaker; a server it has
      taken out of load balancing is the nearest thing to an open one, so ``UP`` reads
      ``CLOSED`` and every other state ``OPEN``, the state word kept as the reason. HAProxy
      before 2.4 exported one numeric value instead (0 DOWN, 1 UP, 2 MAINT, 3 DRAIN, 4 NOLB),
      read the same way.
    * ``haproxy_server_check_status{proxy, server, state}`` (one-hot over the last health
      check's result, e.g. ``L4CON`` connection refused, ``L7STS`` bad HTTP status, ``L4TOUT``
      / ``L7TOUT`` timeout) is quoted in the reason of a server that is not ``UP``.

    HAProxy knows no chain head, so there is no lag. The upstream name is the ``server``
    label (the server's name in the backend); a server in several backends shows its worst.
    """

    name = "haproxy"
    status_metric: Final = "haproxy_server_status"
    check_metric: Final = "haproxy_server_check_status"
    metrics = (status_metric, check_metric)
    _CODES: Final = {0.0: "DOWN", 1.0: "UP", 2.0: "MAINT", 3.0: "DRAIN", 4.0: "NOLB"}
    _WHY: Final = {
        "DOWN": "DOWN, failing its health checks",
        "MAINT": "MAINT, in maintenance",
        "DRAIN": "DRAIN, draining",
        "NOLB": "NOLB, stopping (no load balancing)",
    }

    def read(self, samples: Mapping[str, Sequence[Sample]]) -> Reading:
        reading = Reading()
        checks: dict[tuple[str, str], str] = {}
        for sample in samples.get(self.check_metric, ()):
            server, proxy = _label(sample, "server"), sample.labels.get("proxy", "")
            if server is not None and sample.value == 1 and sample.labels.get("state"):
                checks[proxy, server] = sample.labels["state"]
        for sample in samples.get(self.status_metric, ()):
            server, proxy = _label(sample, "server"), sample.labels.get("proxy", "")
            if server is None:
                continue
            word = sample.labels.get("state")
            if word is None:  # before 2.4: one coded value per server
                word = self._CODES.get(sample.value)
                if word is None:
                    reading.breaker(server, BreakerReading(UNKNOWN, self.status_metric))
                    continue
            elif sample.value != 1:
                continue
            word = word.upper()
            if word == "UP":
                reading.breaker(server, BreakerReading(CLOSED, self.status_metric, "UP"))
                continue
            detail = self._WHY.get(word, word)
            check = checks.get((proxy, server))
            if check is not None:
                detail += f", last check {check}"
            reading.breaker(server, BreakerReading(OPEN, self.status_metric, detail))
        return reading


CUSTOM_KEYS: Final = CUSTOM_METRIC_KEYS
"""Keys of ``prometheus.metrics`` for ``preset: custom`` (see docs/observers.md): the
scenario format's own list, so the file and the observer cannot disagree."""


@dataclass(frozen=True)
class CustomPreset(Preset):
    """Any gateway: the metric names and the label naming the upstream, given by the user.

    The breaker metric is read one of two ways: one-hot over ``state_label`` (the sample whose
    label says ``closed``/``open``/``half_open`` has value 1, as Lasso and resilience4j do), or
    a numeric code per upstream (``closed_values`` / ``open_values`` / ``half_open_values``,
    by default 0 / 1 / 2; another value reads UNKNOWN). The one-hot state words are
    ``closed_states`` / ``open_states`` / ``half_open_states`` (case does not matter; by
    default ``closed`` / ``open`` / ``half_open``), so a gateway that says ``UP`` / ``DOWN``
    maps too; a word in none of them reads UNKNOWN."""

    breaker_metric: str | None = None
    lag_metric: str | None = None
    label: str = "upstream"
    state_label: str | None = None
    closed_values: tuple[float, ...] = (0.0,)
    open_values: tuple[float, ...] = (1.0,)
    half_open_values: tuple[float, ...] = (2.0,)
    state_words: Mapping[str, str] = field(default_factory=lambda: dict(_STATE_WORDS))
    """Lower-cased one-hot state word -> CLOSED / OPEN / HALF-OPEN."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", "custom")
        names = tuple(m for m in (self.breaker_metric, self.lag_metric) if m)
        object.__setattr__(self, "metrics", names)
        object.__setattr__(self, "observes_breakers", self.breaker_metric is not None)
        object.__setattr__(self, "absent", UNKNOWN if self.breaker_metric else N_A)

    @classmethod
    def from_mapping(cls, metrics: Mapping[str, str]) -> CustomPreset:
        """From ``prometheus.metrics``; ValueError (one line) on an unknown key or value."""
        unknown = sorted(set(metrics) - set(CUSTOM_KEYS))
        if unknown:
            raise ValueError(
                f"prometheus custom: unknown key {unknown[0]!r} (known: {', '.join(CUSTOM_KEYS)})"
            )
        if not metrics.get("breaker_state") and not metrics.get("lag"):
            raise ValueError("prometheus custom: name a breaker_state metric, a lag metric or both")
        return cls(
            breaker_metric=metrics.get("breaker_state") or None,
            lag_metric=metrics.get("lag") or None,
            label=metrics.get("label") or "upstream",
            state_label=metrics.get("state_label") or None,
            closed_values=_values(metrics, "closed_values", (0.0,)),
            open_values=_values(metrics, "open_values", (1.0,)),
            half_open_values=_values(metrics, "half_open_values", (2.0,)),
            state_words=_state_words(metrics),
        )

    def read(self, samples: Mapping[str, Sequence[Sample]]) -> Reading:
        reading = Reading()
        if self.breaker_metric is not None:
            mine = [s for s in samples.get(self.breaker_metric, ()) if _label(s, self.label)]
            if self.state_label is not None:
                by_upstream: dict[str, list[Sample]] = defaultdict(list)
                for sample in mine:
                    by_upstream[sample.labels[self.label]].append(sample)
                for upstream, series in by_upstream.items():
                    for group in _one_hot_groups(series, self.state_label):
                        state = _one_hot_state(group, self.state_label, self.state_words)
                        reading.breaker(upstream, BreakerReading(state, self.breaker_metric))
            else:
                for sample in mine:
                    state = self._coded(sample.value)
                    reading.breaker(
                        sample.labels[self.label], BreakerReading(state, self.breaker_metric)
                    )
        if self.lag_metric is not None:
            for sample in samples.get(self.lag_metric, ()):
                named = _label(sample, self.label)
                if named is not None:
                    reading.lag(named, sample.value)
        return reading

    def _coded(self, value: float) -> str:
        if value in self.open_values:
            return OPEN
        if value in self.half_open_values:
            return HALF_OPEN
        if value in self.closed_values:
            return CLOSED
        return UNKNOWN


def _values(metrics: Mapping[str, str], key: str, default: tuple[float, ...]) -> tuple[float, ...]:
    text = metrics.get(key)
    if not text:
        return default
    try:
        return tuple(float(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"prometheus custom: {key}: expected numbers separated by commas, got {text!r}"
        ) from None


def _state_words(metrics: Mapping[str, str]) -> dict[str, str]:
    """The one-hot words of ``closed_states`` / ``open_states`` / ``half_open_states``."""
    keys = {"closed_states": CLOSED, "open_states": OPEN, "half_open_states": HALF_OPEN}
    if not any(metrics.get(key) for key in keys):
        return dict(_STATE_WORDS)
    if not metrics.get("state_label"):
        given = next(key for key in keys if metrics.get(key))
        raise ValueError(f"prometheus custom: {given} needs state_label (the label holding them)")
    words: dict[str, str] = {}
    for key, state in keys.items():
        for word in str(metrics.get(key) or "").split(","):
            word = word.strip().lower()
            if not word:
                continue
            if word in words and words[word] != state:
                both = ", ".join(keys)
                raise ValueError(f"prometheus custom: state {word!r} is in two of {both}")
            words[word] = state
    return words


def _one_hot_groups(series: Iterable[Sample], state_label: str = "state") -> list[list[Sample]]:
    """One-hot samples grouped by every label but the state one (one group per circuit)."""
    groups: dict[tuple[tuple[str, str], ...], list[Sample]] = defaultdict(list)
    for sample in series:
        key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != state_label))
        groups[key].append(sample)
    return list(groups.values())


def _one_hot_state(
    group: Iterable[Sample], state_label: str, words: Mapping[str, str] = _STATE_WORDS
) -> str:
    """The state whose sample is 1; UNKNOWN when none is (the gateway does not know)."""
    for sample in group:
        if sample.value == 1:
            return words.get(sample.labels.get(state_label, "").lower(), UNKNOWN)
    return UNKNOWN


PRESETS: Final[Mapping[str, Preset]] = {
    "lasso": LassoPreset(),
    "erpc": ErpcPreset(),
    "dshackle": DshacklePreset(),
    "haproxy": HaproxyPreset(),
}


def preset_named(name: str, metrics: Mapping[str, str] | None = None) -> Preset:
    """The preset called ``name`` (``custom`` built from ``metrics``); ValueError (one line)."""
    if name == "custom":
        return CustomPreset.from_mapping(metrics or {})
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join([*PRESETS, "custom"])
        raise ValueError(f"unknown prometheus preset {name!r} (known: {known})") from None
