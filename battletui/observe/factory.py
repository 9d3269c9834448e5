"""``build_observer``: the observers a target's ``observe:`` asks for, as one ``Observer``.

The spec is read through two small protocols, so the scenario's ``ObserveSpec`` /
``PrometheusSpec`` and this module's own :class:`ObserveConfig` / :class:`PrometheusConfig`
(for callers and tests without a scenario) both fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from battletui.observe.base import Observer, ObserverCallbacks
from battletui.observe.combined import CombinedObserver
from battletui.observe.json_health import JsonHealthObserver
from battletui.observe.presets import preset_named
from battletui.observe.prometheus import PrometheusObserver

__all__ = [
    "DEFAULT_HEADER",
    "ObserveConfig",
    "ObserveLike",
    "PrometheusConfig",
    "PrometheusLike",
    "build_observer",
    "events_url",
    "reference_observe",
]

DEFAULT_HEADER: Final = "X-Upstream"
"""The reference gateway's header naming the upstream that answered."""


class PrometheusLike(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def preset(self) -> str: ...

    @property
    def metrics(self) -> Mapping[str, str]: ...


class ObserveLike(Protocol):
    @property
    def upstream_header(self) -> str | None: ...

    @property
    def health(self) -> str | None: ...

    @property
    def events(self) -> str | None: ...

    @property
    def prometheus(self) -> PrometheusLike | None: ...


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    preset: str
    """lasso, erpc, dshackle or custom."""
    metrics: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """``custom`` only: see :data:`~battletui.observe.presets.CUSTOM_KEYS`."""


@dataclass(frozen=True)
class ObserveConfig:
    """What observes a gateway; every part optional (nothing at all: breakers read n/a)."""

    upstream_header: str | None = DEFAULT_HEADER
    health: str | None = None
    """A JSON health URL in the reference gateway's ``/health`` format."""
    events: str | None = None
    """A WebSocket event stream in the reference gateway's ``/events`` format."""
    prometheus: PrometheusConfig | None = None


def events_url(admin_url: str) -> str:
    """The reference gateway's ``/events`` stream under its admin base URL."""
    base = admin_url.rstrip("/")
    return "ws" + base.removeprefix("http") + "/events"


def reference_observe(admin_url: str) -> ObserveConfig:
    """How the reference gateway is observed: its ``/health``, ``/events`` and header."""
    admin = admin_url.rstrip("/")
    return ObserveConfig(health=f"{admin}/health", events=events_url(admin))


def build_observer(
    spec: ObserveLike | None,
    provider_ids: Sequence[str],
    upstream_names: Mapping[str, str] | None = None,
    callbacks: ObserverCallbacks | None = None,
    *,
    strategy_url: str | None = None,
) -> Observer:
    """One observer for everything ``spec`` names (None: nothing observes).

    ``upstream_names`` maps the gateway's upstream names to ``provider_ids`` (the scenario's
    ``target.upstreams``); ``strategy_url`` is where the strategy can be switched (the
    reference gateway's ``/admin/strategy``; None: it cannot). A health URL comes first, so
    where it and the metrics both say a breaker, the health URL's is shown. ValueError (one
    line) for a preset that does not exist or a custom mapping that does not read."""
    names = dict(upstream_names or {})
    callbacks = callbacks or ObserverCallbacks()
    parts: list[Observer] = []
    header = None
    if spec is not None:
        header = spec.upstream_header
        if spec.health is not None:
            parts.append(
                JsonHealthObserver(
                    spec.health,
                    provider_ids,
                    events_url=spec.events,
                    strategy_url=strategy_url,
                    upstream_names=names,
                    callbacks=callbacks,
                )
            )
        if spec.prometheus is not None:
            preset = preset_named(spec.prometheus.preset, spec.prometheus.metrics)
            parts.append(
                PrometheusObserver(
                    spec.prometheus.url,
                    preset,
                    provider_ids,
                    upstream_names=names,
                    callbacks=callbacks,
                )
            )
    return CombinedObserver(
        parts,
        provider_ids,
        share_source="header" if header else "received",
        also=[f"upstream header {header}"] if header else [],
    )
