"""``target:``: an external gateway as the system under test, read and checked.

Only loopback URLs are accepted: battletui sends its load, and points the mock providers'
traffic, at this machine only. Problems are raised as ``Invalid`` like every other section,
so they come out as ``file:line: target.field: message``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from battletui.scenario._validate import (
    Invalid,
    Path,
    optional,
    read_mapping,
    read_str,
    required,
    show,
)
from battletui.scenario.model import (
    CUSTOM_METRIC_KEYS,
    DEFAULT_UPSTREAM_HEADER,
    PROMETHEUS_PRESETS,
    ObserveSpec,
    PrometheusSpec,
    Scenario,
    TargetSpec,
)

TARGET_KEYS = ("http", "ws", "upstreams", "observe")
OBSERVE_KEYS = ("upstream_header", "health", "events", "prometheus")
PROMETHEUS_KEYS = ("url", "preset", "metrics")
LOOPBACK = "127.0.0.0/8, localhost, [::1]"
NO_HEADER = "none"
"""How a file says the gateway sends no upstream header (TOML has no null)."""

_HEADER = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_HTTP = ("http", "https")
_WS = ("ws", "wss")
WS_SLOS = ("ws_gaps", "ws_duplicates", "ws_max_stall")


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, schemes: Sequence[str]) -> str | None:
    """Why ``url`` cannot be a target address (one line), or None when it can."""
    parts = urlsplit(url)
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        return f"expected a {wanted} URL, got {url!r}"
    try:
        parts.port  # noqa: B018 - reading it checks the port
    except ValueError:
        return f"invalid port in {url!r}"
    host = parts.hostname or ""
    if not is_loopback(host):
        return (
            f"only loopback addresses are accepted ({LOOPBACK}): battletui sends load only to "
            f"this machine, got {url!r}"
        )
    return None


def read_url(value: object, path: Path, schemes: Sequence[str]) -> str:
    url = read_str(value, path).strip()
    problem = url_problem(url, schemes)
    if problem is not None:
        raise Invalid(path, problem)
    return url


def read_target(value: object, path: Path, ids: Sequence[str]) -> TargetSpec:
    mapping = read_mapping(value, path, TARGET_KEYS)
    http = read_url(required(mapping, path, "http"), (*path, "http"), _HTTP)
    ws = optional(mapping, path, "ws", lambda v, p: read_url(v, p, _WS), None)
    upstreams: Mapping[str, str] = {}
    if "upstreams" in mapping:
        upstreams = read_upstreams(mapping["upstreams"], (*path, "upstreams"), ids)
    observe = optional(mapping, path, "observe", read_observe, ObserveSpec())
    return TargetSpec(http=http, ws=ws, upstreams=upstreams, observe=observe)


def read_upstreams(value: object, path: Path, ids: Sequence[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid(path, f"expected a mapping of the gateway's upstream names to provider "
                      f"ids, got {show(value)}")  # fmt: skip
    names: dict[str, str] = {}
    for name, provider in value.items():
        if not str(name).strip():
            raise Invalid((*path, name), "an upstream name must not be empty", "key")
        provider_id = read_str(provider, (*path, name))
        if provider_id not in ids:
            raise Invalid(
                (*path, name), f"unknown provider {provider_id!r} (known: {', '.join(ids)})"
            )
        names[str(name)] = provider_id
    return names


def read_observe(value: object, path: Path) -> ObserveSpec:
    mapping = read_mapping(value, path, OBSERVE_KEYS)
    return ObserveSpec(
        upstream_header=optional(mapping, path, "upstream_header", read_header, _default_header()),
        health=optional(mapping, path, "health", lambda v, p: read_url(v, p, _HTTP), None),
        events=optional(mapping, path, "events", lambda v, p: read_url(v, p, _WS), None),
        prometheus=optional(mapping, path, "prometheus", read_prometheus, None),
    )


def _default_header() -> str | None:
    return DEFAULT_UPSTREAM_HEADER


def read_header(value: object, path: Path) -> str | None:
    """A header name, or ``none`` (or null) when the gateway says nothing of its upstream."""
    if value is None:
        return None
    name = read_str(value, path).strip()
    if name.lower() == NO_HEADER:
        return None
    if not _HEADER.fullmatch(name):
        raise Invalid(path, f"expected a header name like 'X-Upstream' (or none), got {name!r}")
    return name


def read_prometheus(value: object, path: Path) -> PrometheusSpec:
    mapping = read_mapping(value, path, PROMETHEUS_KEYS)
    url = read_url(required(mapping, path, "url"), (*path, "url"), _HTTP)
    preset = read_str(required(mapping, path, "preset"), (*path, "preset"))
    if preset not in PROMETHEUS_PRESETS:
        raise Invalid(
            (*path, "preset"),
            f"unknown preset {preset!r} (known: {', '.join(PROMETHEUS_PRESETS)})",
        )
    if preset != "custom":
        if "metrics" in mapping:
            raise Invalid((*path, "metrics"), "only with preset: custom", "key")
        return PrometheusSpec(url=url, preset=preset)
    if "metrics" not in mapping:
        raise Invalid((*path, "metrics"), "required with preset: custom", "parent")
    metrics = read_metrics(mapping["metrics"], (*path, "metrics"))
    return PrometheusSpec(url=url, preset=preset, metrics=metrics)


def read_metrics(value: object, path: Path) -> dict[str, str]:
    mapping = read_mapping(value, path, CUSTOM_METRIC_KEYS)
    names: dict[str, str] = {}
    for key in CUSTOM_METRIC_KEYS:
        if key not in mapping:
            continue
        if key.endswith("_values"):
            names[key] = read_codes(mapping[key], (*path, key))
            continue
        if key.endswith("_states"):
            names[key] = read_state_words(mapping[key], (*path, key))
            continue
        name = read_str(mapping[key], (*path, key))
        metric = key in ("breaker_state", "lag")
        pattern, what = (_METRIC, "metric") if metric else (_LABEL, "label")
        if not pattern.fullmatch(name):
            raise Invalid((*path, key), f"not a Prometheus {what} name: {name!r}")
        names[key] = name
    if "breaker_state" not in names and "lag" not in names:
        raise Invalid(path, "name at least one of breaker_state, lag")
    words = [key for key in CUSTOM_METRIC_KEYS if key.endswith("_states") and key in names]
    if words and "state_label" not in names:
        raise Invalid((*path, words[0]), "needs state_label (the label holding the words)")
    seen: dict[str, str] = {}
    for key in words:
        for word in names[key].split(", "):
            other = seen.setdefault(word.lower(), key)
            if other != key:
                raise Invalid((*path, key), f"{word!r} is also in {other}")
    return names


def read_state_words(value: object, path: Path) -> str:
    """One-hot state words: a word, or words separated by commas ("DOWN, MAINT")."""
    text = read_str(value, path)
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise Invalid(path, f"expected words separated by commas, got {text!r}")
    return ", ".join(parts)


def read_codes(value: object, path: Path) -> str:
    """Breaker codes: a number, or numbers separated by commas ("1, 3")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    text = read_str(value, path)
    parts = [part.strip() for part in text.split(",")]
    try:
        for part in parts:
            float(part)
    except ValueError:
        raise Invalid(path, f"expected numbers separated by commas, got {text!r}") from None
    return ", ".join(parts)


def ws_problem(scenario: Scenario) -> tuple[Path, str] | None:
    """A target without ``ws`` cannot carry WebSocket load or SLOs: where and why."""
    target = scenario.target
    if target is None or target.ws is not None:
        return None
    if scenario.workload.ws.subscribers > 0:
        return (
            ("target", "ws"),
            f"required by workload.ws.subscribers ({scenario.workload.ws.subscribers}): "
            "the WebSocket subscribers connect there",
        )
    for key in WS_SLOS:
        if getattr(scenario.slo, key) is not None:
            return (("target", "ws"), f"required by slo.{key}: WebSocket figures need a stream")
    return None


def override_target(scenario: Scenario, http: str | None, ws: str | None = None) -> Scenario:
    """``--target`` / ``--target-ws``: set or replace the target's addresses, keeping its
    upstream names and observers. ValueError (one line, naming the option) when refused."""
    if http is None and ws is None:
        return scenario
    for option, url, schemes in (("--target", http, _HTTP), ("--target-ws", ws, _WS)):
        if url is not None and (problem := url_problem(url.strip(), schemes)) is not None:
            raise ValueError(f"{option}: {problem}")
    current = scenario.target
    if http is None:
        if current is None:
            raise ValueError("--target-ws: needs --target (or a target: in the scenario)")
        target = dataclasses.replace(current, ws=ws.strip() if ws else current.ws)
    elif current is None:
        target = TargetSpec(http=http.strip(), ws=ws.strip() if ws else None)
    else:
        target = dataclasses.replace(
            current, http=http.strip(), ws=ws.strip() if ws else current.ws
        )
    updated = dataclasses.replace(scenario, target=target)
    if (refused := ws_problem(updated)) is not None:
        raise ValueError(f"--target-ws: {refused[1]}")
    return updated
