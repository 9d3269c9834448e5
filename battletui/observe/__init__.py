"""Observers: what only the gateway under test knows (breaker states, lag, who served),
learned over the gateway's own sockets — a JSON health URL and event stream, Prometheus
metrics through a preset, the upstream header — and ``n/a`` where nothing observes.

The session calls :func:`build_observer` once and reads the result through the
:class:`Observer` protocol; the format an external gateway can serve to be observed fully is
the reference gateway's ``/health`` (``docs/observers.md``). Nothing here runs a session:
the package observes any gateway and never imports the engine or the UI.
"""

from battletui.observe.base import (
    CannotSwitch,
    Observer,
    ObserverCallbacks,
    ObserverError,
)
from battletui.observe.combined import CombinedObserver
from battletui.observe.factory import (
    DEFAULT_HEADER,
    ObserveConfig,
    ObserveLike,
    PrometheusConfig,
    PrometheusLike,
    build_observer,
    events_url,
    reference_observe,
)
from battletui.observe.json_health import GatewayObserver, JsonHealthObserver
from battletui.observe.presets import (
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
from battletui.observe.prometheus import PrometheusObserver
from battletui.observe.view import (
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
    "events_url",
    "preset_named",
    "reference_observe",
]
