"""Plain data (dicts, lists, scalars) from either format -> a checked ``Scenario``.

Format-neutral on purpose: YAML and TOML only differ in how a problem's path becomes a line
number, so every problem is raised as ``Invalid(path, ...)`` and the loader locates it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal, TypeVar

from battletui.scenario.durations import DurationError, format_duration, parse_duration
from battletui.scenario.errors import ScenarioError
from battletui.scenario.model import (
    ACTION_KINDS,
    ERROR_KINDS,
    HTTP_METHODS,
    LOAD_PAUSE,
    LOAD_RESUME,
    MAX_PROVIDERS,
    MIN_SESSION,
    MIX_PRESETS,
    STRATEGIES,
    SUBSCRIPTIONS,
    Action,
    BreakerSpec,
    ChainSpec,
    GatewaySpec,
    HttpLoadSpec,
    ParamValue,
    ProviderSpec,
    Scenario,
    SloSpec,
    TimelineEntry,
    WorkloadSpec,
    WsLoadSpec,
)

Path = tuple[str | int, ...]
"""Where a value sits in the tree: keys and list indexes, e.g. ("timeline", 2, "kill")."""

Where = Literal["key", "value", "parent"]
"""What a problem's line should point at: the key, its value, or the mapping holding it."""

T = TypeVar("T")

TOP_KEYS = (
    "name",
    "description",
    "seed",
    "duration",
    "chain",
    "providers",
    "gateway",
    "target",
    "workload",
    "slo",
    "timeline",
)
CHAIN_KEYS = ("id", "block_time")
PROVIDER_KEYS = ("id", "latency", "jitter", "error_rate")
GATEWAY_KEYS = (
    "strategy",
    "timeout",
    "attempt_timeout",
    "ws_stall_timeout",
    "ws_backfill_limit",
    "lag_blocks",
    "breaker",
)
BREAKER_KEYS = (
    "failures",
    "window",
    "failure_rate",
    "min_calls",
    "open_for",
    "max_open_for",
    "half_open_probes",
    "successes",
)
WORKLOAD_KEYS = ("http", "ws", "stale_blocks")
MAX_STALE_BLOCKS = 1_000
WS_KEYS = ("subscribers", "subscription")
MAX_WS_SUBSCRIBERS = 1_000
HTTP_KEYS = ("rate", "mix", "timeout", "workers", "connections")
MAX_WORKERS = 64
MAX_CONNECTIONS = 10_000
SLO_KEYS = (
    "success_rate",
    "p50",
    "p95",
    "p99",
    "max",
    "ws_gaps",
    "ws_duplicates",
    "ws_max_stall",
    "stale_rate",
    "wrong_answers",
)
LATENCY_SLO_KEYS = ("p50", "p95", "p99", "max", "ws_max_stall")
ACTION_PARAMS: Mapping[str, tuple[str, ...]] = {
    "kill": (),
    "restore": (),
    "degrade": ("latency", "jitter", "method"),
    "flap": ("down", "up", "cycles"),
    "ws-drop": (),
    "errors": ("rate", "kind", "code", "retry_after"),
    "hang": (),
    "lag": (),
    "reorg": (),
    "strategy": (),
    "load": (),
    "mark": (),
}
"""Keys each action kind takes besides ``at`` and its own kind key (its target)."""
TARGETLESS: Mapping[str, str] = {
    "reorg": "depth",
    "strategy": "name",
    "load": "value",
    "mark": "label",
}
"""Kinds that act on the session as a whole, and the parameter their timeline value becomes."""

MAX_REORG_DEPTH = 64
METHOD_NAME = re.compile(r"[a-z0-9]+_[A-Za-z0-9]+")
RPC_ERROR_CODES = "-32603 or -32000..-32099"

FLAP_DOWN = 2.0
FLAP_UP = 3.0
MAX_HTTP_RATE = 200_000
MAX_NAME = 100
"""Characters in a name (a scenario's becomes part of a folder name)."""
MAX_INT = 2**63 - 1
"""The largest integer a scenario may write (seeds, counts, chain ids)."""
MIN_BLOCK_TIME = 0.1
"""Seconds: a faster mock chain measures the lab, not the gateway."""
WS_SLO_KEYS = ("ws_gaps", "ws_duplicates", "ws_max_stall")

PROVIDER_ID = re.compile(r"[a-z][a-z0-9_-]{0,15}")


class Invalid(Exception):
    """A problem at ``path``; ``line`` is set only when the reader already knows it."""

    def __init__(
        self, path: Path, message: str, where: Where = "value", line: int | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.where = where
        self.line = line


def field_name(path: Path) -> str:
    """``("timeline", 2, "kill")`` -> ``timeline[2].kill``; the root is ``(top level)``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def show(value: object) -> str:
    """A value as the user wrote it, short enough for a one-line message."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


# --- typed readers: (value, path) -> checked value ------------------------------------------


def read_mapping(value: object, path: Path, known: Sequence[str]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a mapping, got {show(value)}")
    for key in value:
        if key not in known:
            raise Invalid((*path, key), f"unknown key (known: {', '.join(known)})", "key")
    return value


def read_list(value: object, path: Path) -> list[object]:
    if not isinstance(value, list):
        raise Invalid(path, f"expected a list, got {show(value)}")
    return value


def read_str(value: object, path: Path) -> str:
    if not isinstance(value, str):
        raise Invalid(path, f"expected a string, got {show(value)}")
    return value


def read_name(value: object, path: Path) -> str:
    text = read_str(value, path)
    if not text.strip():
        raise Invalid(path, "must not be empty")
    if len(text) > MAX_NAME:
        raise Invalid(path, f"at most {MAX_NAME} characters, got {len(text)}")
    return text


def read_session_name(value: object, path: Path) -> str:
    """A scenario's name: it becomes part of the session folder's name."""
    text = read_name(value, path)
    if any(ord(char) < 32 or char in "/\\" for char in text):
        raise Invalid(path, "no slashes or control characters (it names the session folder)")
    return text


def read_int(value: object, path: Path, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(path, f"expected an integer, got {show(value)}")
    if abs(value) > MAX_INT:
        raise Invalid(path, f"out of range (at most {MAX_INT:,}), got {len(str(value))} digits")
    if minimum is not None and value < minimum:
        raise Invalid(path, f"must be {minimum} or more, got {value}")
    return value


def read_number(value: object, path: Path, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(path, f"expected a number, got {show(value)}")
    number = float(value) if abs(value) < 1e300 else math.inf
    if not low <= number <= high:
        raise Invalid(path, f"must be between {low:g} and {high:g}, got {value!r}")
    return number


def read_duration(
    value: object, path: Path, *, positive: bool = False, allow_sign: bool = False
) -> tuple[float, bool]:
    try:
        seconds, relative = parse_duration(value, allow_sign=allow_sign)
    except DurationError as err:
        raise Invalid(path, str(err)) from None
    if positive and seconds <= 0:
        raise Invalid(path, f"must be more than 0, got {show(value)}")
    return seconds, relative


def read_seconds(value: object, path: Path) -> float:
    return read_duration(value, path)[0]


def read_session_duration(value: object, path: Path) -> float:
    """0 runs until quit (an open-ended demo); otherwise at least ``MIN_SESSION``."""
    seconds = read_seconds(value, path)
    if 0 < seconds < MIN_SESSION:
        raise Invalid(
            path,
            f"must be 0 (run until quit) or at least {format_duration(MIN_SESSION)}, "
            f"got {show(value)}",
        )
    return seconds


def read_positive(value: object, path: Path) -> float:
    return read_duration(value, path, positive=True)[0]


def read_fraction(value: object, path: Path) -> float:
    return read_number(value, path, 0.0, 1.0)


def read_natural(value: object, path: Path) -> int:
    """A whole number, 0 or more (limits, counts, cycles)."""
    return read_int(value, path, minimum=0)


def read_count(value: object, path: Path) -> int:
    return read_int(value, path, minimum=1)


def required(mapping: Mapping[str, object], path: Path, key: str) -> object:
    if key not in mapping:
        raise Invalid((*path, key), "required key is missing", "parent")
    return mapping[key]


def optional(
    mapping: Mapping[str, object],
    path: Path,
    key: str,
    read: Callable[[object, Path], T],
    default: T,
) -> T:
    return read(mapping[key], (*path, key)) if key in mapping else default


def present(
    mapping: Mapping[str, object], path: Path, readers: Mapping[str, Callable[[object, Path], T]]
) -> dict[str, T]:
    """Read the keys present, leaving absent ones to the dataclass defaults."""
    return {
        key: read(mapping[key], (*path, key)) for key, read in readers.items() if key in mapping
    }


# --- sections ---------------------------------------------------------------------------------


def scenario(data: object) -> Scenario:
    root = read_mapping(data, (), TOP_KEYS)
    name = read_session_name(required(root, (), "name"), ("name",))
    description = optional(root, (), "description", read_str, "")
    seed = optional(root, (), "seed", read_int, 0)
    duration = read_session_duration(required(root, (), "duration"), ("duration",))
    chain = optional(root, (), "chain", read_chain, ChainSpec())
    providers = read_providers(required(root, (), "providers"), ("providers",))
    gateway = optional(root, (), "gateway", read_gateway, GatewaySpec())
    workload = optional(root, (), "workload", read_workload, WorkloadSpec())
    slo = optional(root, (), "slo", read_slo, SloSpec())
    ids = tuple(p.id for p in providers)
    timeline: tuple[TimelineEntry, ...] = ()
    if "timeline" in root:
        timeline = read_timeline(root["timeline"], ("timeline",), ids, duration)
    from battletui.scenario._target import read_target, ws_problem  # it reads with these readers

    target = None
    if "target" in root:
        target = read_target(root["target"], ("target",), ids)
    checked = Scenario(
        name=name,
        description=description,
        seed=seed,
        duration=duration,
        chain=chain,
        providers=providers,
        gateway=gateway,
        workload=workload,
        slo=slo,
        timeline=timeline,
        target=target,
    )
    if (problem := ws_problem(checked)) is not None:
        raise Invalid(problem[0], problem[1], "parent")
    if workload.ws.subscribers == 0:
        for key in WS_SLO_KEYS:
            if getattr(slo, key) is not None:
                raise Invalid(
                    ("slo", key),
                    "judges WebSocket subscribers, and there are none "
                    "(set workload.ws.subscribers)",
                    "key",
                )
    return checked


def read_chain(value: object, path: Path) -> ChainSpec:
    mapping = read_mapping(value, path, CHAIN_KEYS)
    chain_id = optional(mapping, path, "id", read_count, ChainSpec.id)
    block_time = optional(mapping, path, "block_time", read_block_time, ChainSpec.block_time)
    return ChainSpec(id=chain_id, block_time=block_time)


def read_block_time(value: object, path: Path) -> float:
    seconds = read_seconds(value, path)
    if seconds < MIN_BLOCK_TIME:
        raise Invalid(
            path, f"at least {format_duration(MIN_BLOCK_TIME)} a block, got {show(value)}"
        )
    return seconds


def read_providers(value: object, path: Path) -> tuple[ProviderSpec, ...]:
    items = read_list(value, path)
    if not items:
        raise Invalid(path, "at least one provider is required")
    if len(items) > MAX_PROVIDERS:
        raise Invalid((*path, MAX_PROVIDERS), f"too many providers (at most {MAX_PROVIDERS})")
    providers: list[ProviderSpec] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        spec = read_provider(item, (*path, index))
        if spec.id in seen:
            raise Invalid(
                (*path, index, "id"),
                f"duplicate provider id {spec.id!r} (also {field_name((*path, seen[spec.id]))})",
            )
        seen[spec.id] = index
        providers.append(spec)
    return tuple(providers)


def read_provider(value: object, path: Path) -> ProviderSpec:
    mapping = read_mapping(value, path, PROVIDER_KEYS)
    provider_id = read_str(required(mapping, path, "id"), (*path, "id"))
    if not PROVIDER_ID.fullmatch(provider_id):
        raise Invalid(
            (*path, "id"),
            f"invalid provider id {provider_id!r} (a lowercase letter, then up to 15 of "
            "a-z 0-9 _ -)",
        )
    return ProviderSpec(
        id=provider_id,
        latency=optional(mapping, path, "latency", read_seconds, ProviderSpec.latency),
        jitter=optional(mapping, path, "jitter", read_seconds, ProviderSpec.jitter),
        error_rate=optional(mapping, path, "error_rate", read_fraction, ProviderSpec.error_rate),
    )


def read_strategy(value: object, path: Path) -> str:
    strategy = read_str(value, path)
    if strategy not in STRATEGIES:
        raise Invalid(path, f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    return strategy


def read_gateway(value: object, path: Path) -> GatewaySpec:
    mapping = read_mapping(value, path, GATEWAY_KEYS)
    return GatewaySpec(
        strategy=optional(mapping, path, "strategy", read_strategy, GatewaySpec.strategy),
        timeout=optional(mapping, path, "timeout", read_positive, GatewaySpec.timeout),
        attempt_timeout=optional(
            mapping, path, "attempt_timeout", read_positive, GatewaySpec.attempt_timeout
        ),
        ws_stall_timeout=optional(
            mapping, path, "ws_stall_timeout", read_positive, GatewaySpec.ws_stall_timeout
        ),
        ws_backfill_limit=optional(
            mapping, path, "ws_backfill_limit", read_natural, GatewaySpec.ws_backfill_limit
        ),
        lag_blocks=optional(mapping, path, "lag_blocks", read_natural, GatewaySpec.lag_blocks),
        breaker=optional(mapping, path, "breaker", read_breaker, BreakerSpec()),
    )


def read_breaker(value: object, path: Path) -> BreakerSpec:
    mapping = read_mapping(value, path, BREAKER_KEYS)
    counts = present(
        mapping,
        path,
        {
            "failures": read_count,
            "half_open_probes": read_count,
            "successes": read_count,
            "window": read_count,
            "min_calls": read_count,
        },
    )
    open_for = optional(mapping, path, "open_for", read_positive, BreakerSpec.open_for)
    max_open_for = optional(
        mapping, path, "max_open_for", read_positive, max(BreakerSpec.max_open_for, open_for)
    )
    if max_open_for < open_for:
        raise Invalid(
            (*path, "max_open_for"),
            f"must be at least open_for ({format_duration(open_for)})",
        )
    failure_rate = optional(mapping, path, "failure_rate", read_fraction, BreakerSpec.failure_rate)
    return BreakerSpec(
        open_for=open_for, max_open_for=max_open_for, failure_rate=failure_rate, **counts
    )


def read_workload(value: object, path: Path) -> WorkloadSpec:
    mapping = read_mapping(value, path, WORKLOAD_KEYS)
    stale = optional(mapping, path, "stale_blocks", read_natural, WorkloadSpec.stale_blocks)
    if stale > MAX_STALE_BLOCKS:
        raise Invalid((*path, "stale_blocks"), f"at most {MAX_STALE_BLOCKS}, got {stale}")
    return WorkloadSpec(
        http=optional(mapping, path, "http", read_http, HttpLoadSpec()),
        ws=optional(mapping, path, "ws", read_ws, WsLoadSpec()),
        stale_blocks=stale,
    )


def read_ws(value: object, path: Path) -> WsLoadSpec:
    mapping = read_mapping(value, path, WS_KEYS)
    subscribers = optional(mapping, path, "subscribers", read_subscribers, 0)
    subscription = optional(mapping, path, "subscription", read_str, "newHeads")
    if subscription not in SUBSCRIPTIONS:
        raise Invalid(
            (*path, "subscription"),
            f"unknown subscription {subscription!r} (known: {', '.join(SUBSCRIPTIONS)})",
        )
    return WsLoadSpec(subscribers=subscribers, subscription=subscription)


def read_subscribers(value: object, path: Path) -> int:
    count = read_int(value, path, minimum=0)
    if count > MAX_WS_SUBSCRIBERS:
        raise Invalid(path, f"at most {MAX_WS_SUBSCRIBERS} subscribers, got {count}")
    return count


def read_rate(value: object, path: Path) -> float:
    if isinstance(value, str):
        raise Invalid(path, f"expected requests per second or max, got {show(value)}")
    return read_number(value, path, 0.0, MAX_HTTP_RATE)


def read_workers(value: object, path: Path) -> int | None:
    if value == "auto":
        return None
    if isinstance(value, str):
        raise Invalid(path, f"expected a number of processes or auto, got {show(value)}")
    count = read_int(value, path, minimum=1)
    if count > MAX_WORKERS:
        raise Invalid(path, f"must be between 1 and {MAX_WORKERS}, got {count}")
    return count


def read_connections(value: object, path: Path) -> int:
    count = read_int(value, path, minimum=1)
    if count > MAX_CONNECTIONS:
        raise Invalid(path, f"must be between 1 and {MAX_CONNECTIONS:,}, got {count}")
    return count


def read_http(value: object, path: Path) -> HttpLoadSpec:
    mapping = read_mapping(value, path, HTTP_KEYS)
    closed = mapping.get("rate") == "max"
    spec = HttpLoadSpec(
        rate=HttpLoadSpec.rate
        if closed
        else optional(mapping, path, "rate", read_rate, HttpLoadSpec.rate),
        timeout=optional(mapping, path, "timeout", read_positive, HttpLoadSpec.timeout),
        closed=closed,
        workers=optional(mapping, path, "workers", read_workers, None),
        connections=optional(
            mapping, path, "connections", read_connections, HttpLoadSpec.connections
        ),
    )
    if "mix" not in mapping:
        return spec
    mix_path = (*path, "mix")
    raw = mapping["mix"]
    if isinstance(raw, str):
        if raw not in MIX_PRESETS:
            known = ", ".join(MIX_PRESETS)
            raise Invalid(mix_path, f"unknown mix {raw!r} (presets: {known}; or method: weight)")
        return dataclasses.replace(spec, mix=MIX_PRESETS[raw], preset=raw)
    if not isinstance(raw, dict):
        raise Invalid(mix_path, f"expected a mapping or a preset name, got {show(raw)}")
    weights: dict[str, int] = {}
    for method, weight in raw.items():
        if method not in HTTP_METHODS:
            raise Invalid(
                (*mix_path, method), f"unknown method (known: {', '.join(HTTP_METHODS)})", "key"
            )
        weights[method] = read_int(weight, (*mix_path, method), minimum=0)
    if sum(weights.values()) <= 0:
        raise Invalid(mix_path, "weights must add up to more than 0")
    return dataclasses.replace(spec, mix=MappingProxyType(weights))


def read_slo(value: object, path: Path) -> SloSpec:
    mapping = read_mapping(value, path, SLO_KEYS)
    success_rate = optional(mapping, path, "success_rate", read_fraction, None)
    latencies = present(mapping, path, {key: read_positive for key in LATENCY_SLO_KEYS})
    return SloSpec(
        success_rate=success_rate,
        ws_gaps=optional(mapping, path, "ws_gaps", read_natural, None),
        ws_duplicates=optional(mapping, path, "ws_duplicates", read_natural, None),
        stale_rate=optional(mapping, path, "stale_rate", read_fraction, None),
        wrong_answers=optional(mapping, path, "wrong_answers", read_natural, None),
        **latencies,
    )


# --- timeline ---------------------------------------------------------------------------------


def read_timeline(
    value: object, path: Path, ids: Sequence[str], duration: float
) -> tuple[TimelineEntry, ...]:
    items = read_list(value, path)
    entries = [read_entry(item, (*path, i), ids, duration) for i, item in enumerate(items)]
    return tuple(sorted(entries, key=lambda entry: entry.at))


def read_entry(value: object, path: Path, ids: Sequence[str], duration: float) -> TimelineEntry:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a mapping like {{at: 10s, kill: alpha}}, got {show(value)}")
    kinds = [key for key in value if key in ACTION_KINDS]
    if not kinds:
        any_param = {p for params in ACTION_PARAMS.values() for p in params}
        read_mapping(value, path, ("at", *ACTION_KINDS, *sorted(any_param)))
        raise Invalid(path, f"no action (expected one of: {', '.join(ACTION_KINDS)})")
    if len(kinds) > 1:
        raise Invalid(
            (*path, kinds[1]),
            f"two actions in one entry ({kinds[0]}, {kinds[1]}); use one entry per action",
            "key",
        )
    kind = kinds[0]
    read_mapping(value, path, ("at", kind, *ACTION_PARAMS[kind]))
    at = read_seconds(required(value, path, "at"), (*path, "at"))
    if duration and at > duration:
        raise Invalid(
            (*path, "at"),
            f"action at {format_duration(at)} is after the end of the session "
            f"({format_duration(duration)})",
        )
    return TimelineEntry(at=at, action=read_action(value, path, kind, ids))


def parse_action(
    kind: str, target: str | None, params: Mapping[str, object], provider_ids: Sequence[str]
) -> Action:
    """Check an action that does not come from a file (control API, ``battletui ctl``).

    The same rules as a timeline entry, read from its parts: ``params`` as a person writes them
    (``{"latency": "+100ms"}``, ``{"depth": 3}``) or as an ``Action`` holds them
    (``{"latency": 0.1, "relative": True, "method": ""}``). Returns the normalised ``Action``;
    raises ``ScenarioError`` whose ``field`` names the parameter (or ``kind`` / ``target``).
    """
    try:
        return _action_of_parts(kind, target, params, provider_ids)
    except Invalid as err:
        raise ScenarioError("action", 0, field_name(err.path), err.message) from None


def _action_of_parts(
    kind: str, target: str | None, params: Mapping[str, object], ids: Sequence[str]
) -> Action:
    if kind not in ACTION_KINDS:
        raise Invalid(("kind",), f"unknown action {kind!r} (known: {', '.join(ACTION_KINDS)})")
    value_key = TARGETLESS.get(kind)
    known = ACTION_PARAMS[kind]
    entry: dict[str, object] = {}
    for key, value in params.items():
        if key in known:
            entry[key] = value
        elif key != value_key and not (kind == "degrade" and key == "relative"):
            listed = ", ".join(known) if known else "none"
            raise Invalid((key,), f"unknown parameter for {kind} (known: {listed})", "key")
    if value_key is not None:
        if target is not None:
            raise Invalid(("target",), f"{kind} takes no target (give its {value_key})")
        entry[kind] = required(params, (), value_key)
    elif target is None:
        raise Invalid(("target",), f"{kind} needs a target provider (known: {', '.join(ids)})")
    else:
        entry[kind] = target
    if kind == "degrade":
        _degrade_entry(entry, params)
    try:
        return read_action(entry, (), kind, ids)
    except Invalid as err:
        if err.path == (kind,):
            raise Invalid((value_key or "target",), err.message) from None
        raise


def _degrade_entry(entry: dict[str, object], params: Mapping[str, object]) -> None:
    """An Action's degrade params as a file writes them: a step is "+" + seconds."""
    relative = params.get("relative", False)
    if not isinstance(relative, bool):
        raise Invalid(("relative",), f"expected true or false, got {show(relative)}")
    for key in ("latency", "jitter"):
        value = entry.get(key)
        if not relative or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if value >= 0:  # a negative step is left for the reader to refuse as written
            entry[key] = f"+{float(value)!r}"
    if entry.get("method") == "":
        del entry["method"]  # "" is how an Action says "every method"


def read_action(mapping: Mapping[str, object], path: Path, kind: str, ids: Sequence[str]) -> Action:
    if kind == "mark":
        return Action("mark", None, {"label": read_name(mapping["mark"], (*path, "mark"))})
    if kind == "reorg":
        depth = read_int(mapping["reorg"], (*path, "reorg"), minimum=1)
        if depth > MAX_REORG_DEPTH:
            raise Invalid((*path, "reorg"), f"depth at most {MAX_REORG_DEPTH}, got {depth}")
        return Action("reorg", None, {"depth": depth})
    if kind == "strategy":
        return Action("strategy", None, {"name": read_strategy(mapping[kind], (*path, kind))})
    if kind == "load":
        return Action("load", None, {"value": read_load(mapping[kind], (*path, kind))})
    target = read_str(mapping[kind], (*path, kind))
    if target not in ids:
        raise Invalid((*path, kind), f"unknown provider {target!r} (known: {', '.join(ids)})")
    params: dict[str, ParamValue] = {}
    if kind == "degrade":
        latency, relative = read_duration(
            required(mapping, path, "latency"), (*path, "latency"), allow_sign=True
        )
        jitter = 0.0
        if "jitter" in mapping:
            jitter, jitter_relative = read_duration(
                mapping["jitter"], (*path, "jitter"), allow_sign=True
            )
            if jitter_relative != relative:
                raise Invalid(
                    (*path, "jitter"),
                    "latency and jitter must both start with '+' (a step on top) or neither",
                )
        method = optional(mapping, path, "method", read_method, "")
        params = {"latency": latency, "jitter": jitter, "relative": relative, "method": method}
    elif kind == "flap":
        params = {
            "down": optional(mapping, path, "down", read_positive, FLAP_DOWN),
            "up": optional(mapping, path, "up", read_positive, FLAP_UP),
            "cycles": optional(mapping, path, "cycles", read_natural, 0),
        }
    elif kind == "errors":
        params = {
            "rate": read_fraction(required(mapping, path, "rate"), (*path, "rate")),
            "kind": optional(mapping, path, "kind", read_error_kind, "server-error"),
            "code": optional(mapping, path, "code", read_rpc_code, -32603),
            "retry_after": optional(mapping, path, "retry_after", read_seconds, 1.0),
        }
    return Action(kind, target, params)


def read_load(value: object, path: Path) -> str | float:
    """``pause``, ``resume`` or a new target rate (req/s, more than 0)."""
    if value in (LOAD_PAUSE, LOAD_RESUME):
        return str(value)
    if isinstance(value, str):
        raise Invalid(path, f"expected pause, resume or a rate in req/s, got {show(value)}")
    rate = read_number(value, path, 0.0, MAX_HTTP_RATE)
    if rate <= 0:
        raise Invalid(path, "a rate must be more than 0 (pause the load instead)")
    return rate


def read_method(value: object, path: Path) -> str:
    method = read_str(value, path)
    if not METHOD_NAME.fullmatch(method):
        raise Invalid(path, f"expected a JSON-RPC method name like 'eth_getLogs', got {method!r}")
    return method


def read_error_kind(value: object, path: Path) -> str:
    kind = read_str(value, path)
    if kind not in ERROR_KINDS:
        raise Invalid(path, f"unknown error kind {kind!r} (known: {', '.join(ERROR_KINDS)})")
    return kind


def read_rpc_code(value: object, path: Path) -> int:
    code = read_int(value, path)
    if code != -32603 and not -32099 <= code <= -32000:
        raise Invalid(path, f"expected a server error code ({RPC_ERROR_CODES}), got {code}")
    return code
