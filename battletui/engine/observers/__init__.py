"""Observers: what only the gateway under test knows (breaker states, lag, who served),
learned over the gateway's own sockets — a JSON health URL and event stream, Prometheus
metrics through a preset, the upstream header — and ``n/a`` where nothing observes.

The session calls :func:`build_observer` once and reads the result through the
:class:`Observer` protocol; the format an external gateway can serve to be observed fully is
the reference gateway's ``/health`` (``docs/observers.md``).
"""

from battletui.engine.observers.base import (
    CannotSwitch,
    Observer,
    ObserverCallbacks,
    ObserverError,
)
from battletui.engine.observers.combined import CombinedObserver
from battletui.engine.observers.factory import (
    DEFAULT_HEADER,
    ObserveConfig,
    ObserveLike,
    PrometheusConfig,
    PrometheusLike,
    build_observer,
    reference_observe,
)
from battletui.engine.observers.json_health import GatewayObserver, JsonHealthObserver
from battletui.engine.observers.presets import (
    CUSTOM_KEYS,
    PRESETS,
    CustomPreset,
    DshacklePreset,
    ErpcPreset,
    HaproxyPreset,
    LassoPreset,
    Preset,
    preset_named,
)
from battletui.engine.observers.prometheus import PrometheusObserver
from battletui.engine.observers.view import (
    N_A,
    NOT_OBSERVED,
    UNKNOWN,
    UNKNOWN_UPSTREAM,
    GatewayView,
    ShareSource,
    UpstreamView,
)

__all__ = [
    "CUSTOM_KEYS",
    "DEFAULT_HEADER",
    "NOT_OBSERVED",
    "N_A",
    "PRESETS",
    "UNKNOWN",
    "UNKNOWN_UPSTREAM",
    "CannotSwitch",
    "CombinedObserver",
    "CustomPreset",
    "DshacklePreset",
    "ErpcPreset",
    "GatewayObserver",
    "GatewayView",
    "HaproxyPreset",
    "JsonHealthObserver",
    "LassoPreset",
    "ObserveConfig",
    "ObserveLike",
    "Observer",
    "ObserverCallbacks",
    "ObserverError",
    "Preset",
    "PrometheusConfig",
    "PrometheusLike",
    "PrometheusObserver",
    "ShareSource",
    "UpstreamView",
    "build_observer",
    "preset_named",
    "reference_observe",
]
