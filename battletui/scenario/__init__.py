"""The scenario file format: typed model, YAML/TOML load and dump, validation with file:line.

This package imports nothing else from battletui so that the format stands on its own.
"""

from battletui.scenario._overrides import override_run
from battletui.scenario._target import override_target
from battletui.scenario._validate import TARGETLESS, parse_action
from battletui.scenario.dump import dump_scenario, dumps_scenario
from battletui.scenario.durations import (
    DurationError,
    clock,
    clock_tenths,
    format_duration,
    parse_duration,
)
from battletui.scenario.errors import ScenarioError
from battletui.scenario.load import format_of, load_scenario, loads_scenario
from battletui.scenario.model import (
    ACTION_KINDS,
    DEFAULT_UPSTREAM_HEADER,
    ERROR_KINDS,
    HTTP_METHODS,
    LOAD_PAUSE,
    LOAD_RESUME,
    MAX_PROVIDERS,
    MIN_SESSION,
    MIX_PRESETS,
    PROMETHEUS_PRESETS,
    STRATEGIES,
    SUBSCRIPTIONS,
    Action,
    BreakerSpec,
    ChainSpec,
    GatewaySpec,
    HttpLoadSpec,
    ObserveSpec,
    ParamValue,
    PrometheusSpec,
    ProviderSpec,
    Scenario,
    SloSpec,
    TargetSpec,
    TimelineEntry,
    WorkloadSpec,
    WsLoadSpec,
)

__all__ = [
    "ACTION_KINDS",
    "DEFAULT_UPSTREAM_HEADER",
    "ERROR_KINDS",
    "HTTP_METHODS",
    "LOAD_PAUSE",
    "LOAD_RESUME",
    "MAX_PROVIDERS",
    "MIN_SESSION",
    "MIX_PRESETS",
    "PROMETHEUS_PRESETS",
    "STRATEGIES",
    "SUBSCRIPTIONS",
    "TARGETLESS",
    "Action",
    "BreakerSpec",
    "ChainSpec",
    "DurationError",
    "GatewaySpec",
    "HttpLoadSpec",
    "ObserveSpec",
    "ParamValue",
    "PrometheusSpec",
    "ProviderSpec",
    "Scenario",
    "ScenarioError",
    "SloSpec",
    "TargetSpec",
    "TimelineEntry",
    "WorkloadSpec",
    "WsLoadSpec",
    "clock",
    "clock_tenths",
    "dump_scenario",
    "dumps_scenario",
    "format_duration",
    "format_of",
    "load_scenario",
    "loads_scenario",
    "override_run",
    "override_target",
    "parse_action",
    "parse_duration",
]
