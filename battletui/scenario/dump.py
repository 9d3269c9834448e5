"""Write a ``Scenario`` back to YAML or TOML that reads like a hand-written file.

Used to record what a session actually ran, so the output is explicit (every gateway and
workload setting is written) and loads back to an equal ``Scenario``.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import tomli_w
import yaml

from battletui.scenario._target import NO_HEADER
from battletui.scenario._validate import FLAP_DOWN, FLAP_UP
from battletui.scenario.durations import format_duration, parse_duration
from battletui.scenario.load import Format, format_of
from battletui.scenario.model import Action, HttpLoadSpec, Scenario, TimelineEntry, WorkloadSpec

Tree = dict[str, Any]


def dumps_scenario(scenario: Scenario, fmt: Format) -> str:
    """``scenario`` as text in ``fmt`` ("yaml" or "toml")."""
    if fmt == "yaml":
        return _yaml(scenario)
    if fmt == "toml":
        return _toml(scenario)
    raise ValueError(f"unknown scenario format {fmt!r}")


def dump_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> None:
    """Write ``scenario`` to ``path``, in the format its extension names."""
    text = dumps_scenario(scenario, format_of(path))
    with open(os.fspath(path), "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


# --- the tree both formats share -------------------------------------------------------------


def duration_text(seconds: float, relative: bool = False) -> str:
    """``format_duration`` when it reads back exactly, else every digit ("0.0005s")."""
    text = format_duration(seconds, relative=relative)
    if parse_duration(text, allow_sign=True)[0] == seconds:
        return text
    exact = format(Decimal(repr(seconds)), "f")
    return f"{'+' if relative else ''}{exact}s"


def _number(value: float) -> int | float:
    """Whole numbers without ".0" (``rate: 200``), like a person would write them."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _head(s: Scenario) -> Tree:
    head: Tree = {"name": s.name}
    if s.description:
        head["description"] = s.description
    head["seed"] = s.seed
    head["duration"] = duration_text(s.duration)
    return head


def _chain(s: Scenario) -> Tree:
    return {"id": s.chain.id, "block_time": duration_text(s.chain.block_time)}


def _providers(s: Scenario) -> list[Tree]:
    return [
        {
            "id": p.id,
            "latency": duration_text(p.latency),
            "jitter": duration_text(p.jitter),
            "error_rate": _number(p.error_rate),
        }
        for p in s.providers
    ]


def _gateway(s: Scenario) -> Tree:
    g, b = s.gateway, s.gateway.breaker
    return {
        "strategy": g.strategy,
        "timeout": duration_text(g.timeout),
        "attempt_timeout": duration_text(g.attempt_timeout),
        "ws_stall_timeout": duration_text(g.ws_stall_timeout),
        "ws_backfill_limit": g.ws_backfill_limit,
        "lag_blocks": g.lag_blocks,
        "breaker": {
            "failures": b.failures,
            "window": b.window,
            "failure_rate": _number(b.failure_rate),
            "min_calls": b.min_calls,
            "open_for": duration_text(b.open_for),
            "max_open_for": duration_text(b.max_open_for),
            "half_open_probes": b.half_open_probes,
            "successes": b.successes,
        },
    }


def _target(s: Scenario) -> Tree | None:
    """``target:`` when there is one; its upstream header always, ``none`` when absent."""
    target = s.target
    if target is None:
        return None
    tree: Tree = {"http": target.http}
    if target.ws is not None:
        tree["ws"] = target.ws
    if target.upstreams:
        tree["upstreams"] = dict(target.upstreams)
    observe = target.observe
    seen: Tree = {"upstream_header": observe.upstream_header or NO_HEADER}
    if observe.health is not None:
        seen["health"] = observe.health
    if observe.events is not None:
        seen["events"] = observe.events
    if observe.prometheus is not None:
        prometheus: Tree = {"url": observe.prometheus.url, "preset": observe.prometheus.preset}
        if observe.prometheus.metrics:
            prometheus["metrics"] = dict(observe.prometheus.metrics)
        seen["prometheus"] = prometheus
    tree["observe"] = seen
    return tree


def _http(s: Scenario) -> Tree:
    http = s.workload.http
    tree: Tree = {
        "rate": "max" if http.closed else _number(http.rate),
        "mix": http.preset if http.preset is not None else dict(http.mix),
        "timeout": duration_text(http.timeout),
    }
    if http.workers is not None:
        tree["workers"] = http.workers
    if http.connections != HttpLoadSpec.connections:
        tree["connections"] = http.connections
    return tree


def _ws(s: Scenario) -> Tree:
    ws = s.workload.ws
    return {"subscribers": ws.subscribers, "subscription": ws.subscription}


def _workload(s: Scenario, http: Tree) -> Tree:
    """``http`` always; ``ws`` only when it has subscribers (keeps HTTP-only files short)."""
    workload: Tree = {"http": http}
    if s.workload.ws.subscribers:
        workload["ws"] = _ws(s)
    if s.workload.stale_blocks != WorkloadSpec.stale_blocks:
        workload["stale_blocks"] = s.workload.stale_blocks
    return workload


def _slo(s: Scenario) -> Tree:
    slo: Tree = {}
    if s.slo.success_rate is not None:
        slo["success_rate"] = _number(s.slo.success_rate)
    for key in ("p50", "p95", "p99", "max"):
        value = getattr(s.slo, key)
        if value is not None:
            slo[key] = duration_text(value)
    if s.slo.stale_rate is not None:
        slo["stale_rate"] = _number(s.slo.stale_rate)
    for key in ("ws_gaps", "ws_duplicates", "wrong_answers"):
        count = getattr(s.slo, key)
        if count is not None:
            slo[key] = count
    if s.slo.ws_max_stall is not None:
        slo["ws_max_stall"] = duration_text(s.slo.ws_max_stall)
    return slo


def _entry(entry: TimelineEntry) -> Tree:
    """``at``, then the action key (its target, or a mark's label), then its parameters."""
    action: Action = entry.action
    params = action.params
    out: Tree = {"at": duration_text(entry.at)}
    if action.kind == "mark":
        out["mark"] = str(params.get("label", ""))
        return out
    if action.kind == "reorg":
        out["reorg"] = int(params.get("depth", 1))
        return out
    if action.kind == "strategy":
        out["strategy"] = str(params.get("name", ""))
        return out
    if action.kind == "load":
        value = params.get("value", "")
        out["load"] = _number(float(value)) if isinstance(value, int | float) else str(value)
        return out
    out[action.kind] = action.target
    if action.kind == "degrade":
        relative = bool(params.get("relative", False))
        out["latency"] = duration_text(float(params.get("latency", 0.0)), relative)
        jitter = float(params.get("jitter", 0.0))
        if jitter:
            out["jitter"] = duration_text(jitter, relative)
        if params.get("method"):
            out["method"] = str(params["method"])
    elif action.kind == "flap":
        out["down"] = duration_text(float(params.get("down", FLAP_DOWN)))
        out["up"] = duration_text(float(params.get("up", FLAP_UP)))
        out["cycles"] = int(params.get("cycles", 0))
    elif action.kind == "errors":
        out["rate"] = _number(float(params.get("rate", 0.0)))
        out["kind"] = str(params.get("kind", "server-error"))
        if out["kind"] == "rpc-error":
            out["code"] = int(params.get("code", -32603))
        if out["kind"] == "rate-limit":
            out["retry_after"] = duration_text(float(params.get("retry_after", 1.0)))
    return out


# --- YAML ------------------------------------------------------------------------------------


class _Flow(dict[str, Any]):
    """A mapping written on one line: ``{at: 10s, kill: alpha}``."""


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people usually do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)


def _yaml_block(tree: Tree) -> str:
    return yaml.dump(
        tree,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=1_000_000,
    )


def _yaml(s: Scenario) -> str:
    gateway = _gateway(s)
    http = _http(s)
    if isinstance(http["mix"], dict):
        http["mix"] = _Flow(http["mix"])
    sections: list[Tree] = [
        {**_head(s), "chain": _Flow(_chain(s))},
        {"providers": [_Flow(p) for p in _providers(s)]},
        {"gateway": gateway},
    ]
    if (target := _target(s)) is not None:
        if "upstreams" in target:
            target["upstreams"] = _Flow(target["upstreams"])
        if "prometheus" in target["observe"]:
            target["observe"]["prometheus"] = _Flow(target["observe"]["prometheus"])
        sections.append({"target": target})
    sections.append({"workload": _workload(s, http)})
    if slo := _slo(s):
        sections.append({"slo": slo})
    if s.timeline:
        sections.append({"timeline": [_Flow(_entry(e)) for e in s.timeline]})
    return "\n".join(_yaml_block(section) for section in sections)


# --- TOML ------------------------------------------------------------------------------------


def _toml(s: Scenario) -> str:
    """Top-level keys, then one table per section; arrays as ``[[providers]]`` tables.

    Written section by section because a TOML key after a table header belongs to that
    table, and tomli_w would otherwise choose its own order and inline arrays.
    """
    sections = [tomli_w.dumps(_head(s)), tomli_w.dumps({"chain": _chain(s)})]
    sections += ["[[providers]]\n" + tomli_w.dumps(p) for p in _providers(s)]
    sections.append(tomli_w.dumps({"gateway": _gateway(s)}))
    if (target := _target(s)) is not None:
        sections.append(tomli_w.dumps({"target": target}))
    sections.append(tomli_w.dumps({"workload": _workload(s, _http(s))}))
    if slo := _slo(s):
        sections.append(tomli_w.dumps({"slo": slo}))
    sections += ["[[timeline]]\n" + tomli_w.dumps(_entry(e)) for e in s.timeline]
    return "\n".join(sections)
