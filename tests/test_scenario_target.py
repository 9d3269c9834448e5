"""``target:`` in the scenario: what loads, the one-line errors (file:line, YAML and TOML), the
dump round trip, and the command line's ``--target`` / ``--target-ws`` / ``--base-port``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from battletui.commands.inputs import Usage, check_base_port
from battletui.commands.main import main
from battletui.scenario import (
    ObserveSpec,
    PrometheusSpec,
    ScenarioError,
    TargetSpec,
    WorkloadSpec,
    WsLoadSpec,
    dumps_scenario,
    loads_scenario,
    override_target,
)
from battletui.scenario import _target as target_module
from battletui.scenario.load import Format

Y = "name: demo\nduration: 60s\nproviders:\n  - {id: alpha}\n  - {id: beta}\n  - {id: gamma}\n"
"""Valid YAML, lines 1-6; cases append from line 7."""

T = 'name = "demo"\nduration = "60s"\nproviders = [{id = "alpha"}, {id = "beta"}, {id = "gamma"}]\n'
"""Valid TOML, lines 1-3; cases append tables from line 4."""

FULL_YAML = (
    Y
    + """\
target:
  http: http://127.0.0.1:8600
  ws: ws://localhost:8600/ws
  upstreams: {alpha-backend: alpha, beta-backend: beta}
  observe:
    upstream_header: X-ERPC-Upstream
    health: http://[::1]:8600/health
    events: ws://127.0.0.1:8600/events
    prometheus: {url: http://127.0.0.2:9100/metrics, preset: custom,
                 metrics: {breaker_state: gw_breaker, lag: gw_lag, label: upstream,
                           open_values: 1, half_open_values: "2,3"}}
workload: {ws: {subscribers: 2}}
"""
)

FULL_TOML = (
    T
    + """
[target]
http = "http://127.0.0.1:8600"
ws = "ws://localhost:8600/ws"
upstreams = { alpha-backend = "alpha", beta-backend = "beta" }

[target.observe]
upstream_header = "X-ERPC-Upstream"
health = "http://[::1]:8600/health"
events = "ws://127.0.0.1:8600/events"

[target.observe.prometheus]
url = "http://127.0.0.2:9100/metrics"
preset = "custom"

[target.observe.prometheus.metrics]
breaker_state = "gw_breaker"
lag = "gw_lag"
label = "upstream"
open_values = 1
half_open_values = "2,3"

[workload.ws]
subscribers = 2
"""
)

EXPECTED = TargetSpec(
    http="http://127.0.0.1:8600",
    ws="ws://localhost:8600/ws",
    upstreams={"alpha-backend": "alpha", "beta-backend": "beta"},
    observe=ObserveSpec(
        upstream_header="X-ERPC-Upstream",
        health="http://[::1]:8600/health",
        events="ws://127.0.0.1:8600/events",
        prometheus=PrometheusSpec(
            url="http://127.0.0.2:9100/metrics",
            preset="custom",
            metrics={
                "breaker_state": "gw_breaker",
                "lag": "gw_lag",
                "label": "upstream",
                "open_values": "1",
                "half_open_values": "2, 3",
            },
        ),
    ),
)


@pytest.mark.parametrize(("fmt", "text"), [("yaml", FULL_YAML), ("toml", FULL_TOML)])
def test_a_full_target_loads(fmt: Format, text: str) -> None:
    scenario = loads_scenario(text, path=f"s.{fmt}", fmt=fmt)
    assert scenario.target == EXPECTED
    assert scenario.target.provider_of("alpha-backend") == "alpha"
    assert scenario.target.provider_of("gamma") == "gamma"  # a name not listed is an id


def test_defaults_and_no_header() -> None:
    plain = loads_scenario(Y + "target: {http: 'http://127.0.0.1:8600'}\n", path="s", fmt="yaml")
    assert plain.target == TargetSpec(http="http://127.0.0.1:8600")
    assert plain.target.observe.upstream_header == "X-Upstream"
    assert plain.target.ws is None and not plain.target.upstreams
    none = loads_scenario(
        Y + "target: {http: 'http://127.0.0.1:1', observe: {upstream_header: none}}\n",
        path="s",
        fmt="yaml",
    )
    assert none.target is not None and none.target.observe.upstream_header is None
    toml = loads_scenario(
        T + '[target]\nhttp = "http://127.0.0.1:1"\nobserve = { upstream_header = "None" }\n',
        path="s",
        fmt="toml",
    )
    assert toml.target is not None and toml.target.observe.upstream_header is None
    assert loads_scenario(Y, path="s", fmt="yaml").target is None


def test_known_target_keys_match_the_model() -> None:
    pairs = [
        (target_module.TARGET_KEYS, TargetSpec),
        (target_module.OBSERVE_KEYS, ObserveSpec),
        (target_module.PROMETHEUS_KEYS, PrometheusSpec),
    ]
    for keys, cls in pairs:
        assert set(keys) == {f.name for f in dataclasses.fields(cls)}, cls.__name__


LOOPBACK = (
    "only loopback addresses are accepted (127.0.0.0/8, localhost, [::1]): battletui sends "
    "load only to this machine, got"
)

YAML_CASES = [
    ("not-loopback", Y + "target:\n  http: http://10.0.0.5:8545\n",
     f"s.yaml:8: target.http: {LOOPBACK} 'http://10.0.0.5:8545'"),
    ("hostname", Y + "target: {http: 'https://rpc.example.com'}\n",
     f"s.yaml:7: target.http: {LOOPBACK} 'https://rpc.example.com'"),
    ("ws-not-loopback", Y + "target:\n  http: http://127.0.0.1:1\n  ws: ws://[::2]:1\n",
     f"s.yaml:9: target.ws: {LOOPBACK} 'ws://[::2]:1'"),
    ("missing-http", Y + "target:\n  ws: ws://127.0.0.1:1\n",
     "s.yaml:8: target.http: required key is missing"),
    ("http-scheme", Y + "target:\n  http: ws://127.0.0.1:1\n",
     "s.yaml:8: target.http: expected a http:// or https:// URL, got 'ws://127.0.0.1:1'"),
    ("ws-scheme", Y + "target:\n  http: http://127.0.0.1:1\n  ws: http://127.0.0.1:1\n",
     "s.yaml:9: target.ws: expected a ws:// or wss:// URL, got 'http://127.0.0.1:1'"),
    ("bad-port", Y + "target:\n  http: http://127.0.0.1:99999\n",
     "s.yaml:8: target.http: invalid port in 'http://127.0.0.1:99999'"),
    ("unknown-key", Y + "target:\n  http: http://127.0.0.1:1\n  wss: ws://127.0.0.1:1\n",
     "s.yaml:9: target.wss: unknown key (known: http, ws, upstreams, observe)"),
    ("unknown-provider", Y + "target:\n  http: http://127.0.0.1:1\n"
     "  upstreams:\n    a-backend: alpha\n    b-backend: alfa\n",
     "s.yaml:11: target.upstreams.b-backend: unknown provider 'alfa' "
     "(known: alpha, beta, gamma)"),
    ("header", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    upstream_header: 'X Upstream'\n",
     "s.yaml:10: target.observe.upstream_header: expected a header name like 'X-Upstream' "
     "(or none), got 'X Upstream'"),
    ("health-not-loopback", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    health: http://192.168.1.1/health\n",
     f"s.yaml:10: target.observe.health: {LOOPBACK} 'http://192.168.1.1/health'"),
    ("preset", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus: {url: 'http://127.0.0.1:9100/metrics', preset: lassoo}\n",
     "s.yaml:10: target.observe.prometheus.preset: unknown preset 'lassoo' "
     "(known: lasso, erpc, dshackle, haproxy, custom)"),
    ("preset-missing", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n",
     "s.yaml:11: target.observe.prometheus.preset: required key is missing"),
    ("custom-needs-metrics", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n",
     "s.yaml:11: target.observe.prometheus.metrics: required with preset: custom"),
    ("metrics-only-custom", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: erpc\n"
     "      metrics: {label: upstream, lag: x}\n",
     "s.yaml:13: target.observe.prometheus.metrics: only with preset: custom"),
    ("metrics-state-label", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {breaker_state: b, state_label: 'the state'}\n",
     "s.yaml:13: target.observe.prometheus.metrics.state_label: not a Prometheus label name: "
     "'the state'"),
    ("metrics-codes", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {breaker_state: b, open_values: '1, two'}\n",
     "s.yaml:13: target.observe.prometheus.metrics.open_values: expected numbers separated by "
     "commas, got '1, two'"),
    ("metrics-unknown", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {breaker_state: b, labels: x}\n",
     "s.yaml:13: target.observe.prometheus.metrics.labels: unknown key (known: breaker_state, "
     "lag, label, state_label, closed_values, open_values, half_open_values, closed_states, "
     "open_states, half_open_states)"),
    ("metrics-words-need-label", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {breaker_state: b, open_states: DOWN}\n",
     "s.yaml:13: target.observe.prometheus.metrics.open_states: needs state_label (the label "
     "holding the words)"),
    ("metrics-word-twice", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {breaker_state: b, state_label: s, closed_states: UP,\n"
     "                open_states: 'DOWN, up'}\n",
     "s.yaml:14: target.observe.prometheus.metrics.open_states: 'up' is also in closed_states"),
    ("metrics-none", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {label: upstream}\n",
     "s.yaml:13: target.observe.prometheus.metrics: name at least one of breaker_state, lag"),
    ("metric-name", Y + "target:\n  http: http://127.0.0.1:1\n  observe:\n"
     "    prometheus:\n      url: http://127.0.0.1:9100/metrics\n      preset: custom\n"
     "      metrics: {label: upstream, lag: gw-lag}\n",
     "s.yaml:13: target.observe.prometheus.metrics.lag: not a Prometheus metric name: 'gw-lag'"),
    ("ws-load-needs-ws", Y + "target:\n  http: http://127.0.0.1:1\n"
     "workload: {ws: {subscribers: 2}}\n",
     "s.yaml:8: target.ws: required by workload.ws.subscribers (2): the WebSocket "
     "subscribers connect there"),
    ("ws-slo-needs-ws", Y + "slo: {ws_gaps: 0}\ntarget:\n  http: http://127.0.0.1:1\n",
     "s.yaml:9: target.ws: required by slo.ws_gaps: WebSocket figures need a stream"),
]  # fmt: skip

TOML_CASES = [
    ("not-loopback", T + '\n[target]\nhttp = "http://10.0.0.5:8545"\n',
     f"s.toml:6: target.http: {LOOPBACK} 'http://10.0.0.5:8545'"),
    ("missing-http", T + '\n[target]\nws = "ws://127.0.0.1:1"\n',
     "s.toml:5: target.http: required key is missing"),
    ("unknown-provider", T + '\n[target]\nhttp = "http://127.0.0.1:1"\n\n[target.upstreams]\n'
     'a-backend = "alpha"\nb-backend = "alfa"\n',
     "s.toml:10: target.upstreams.b-backend: unknown provider 'alfa' "
     "(known: alpha, beta, gamma)"),
    ("preset-inline", T + '\n[target]\nhttp = "http://127.0.0.1:1"\n\n[target.observe]\n'
     'prometheus = { url = "http://127.0.0.1:9100/metrics", preset = "lassoo" }\n',
     "s.toml:9: target.observe.prometheus.preset: unknown preset 'lassoo' "
     "(known: lasso, erpc, dshackle, haproxy, custom)"),
    ("ws-load-needs-ws", T + '\n[workload.ws]\nsubscribers = 1\n\n[target]\n'
     'http = "http://127.0.0.1:1"\n',
     "s.toml:8: target.ws: required by workload.ws.subscribers (1): the WebSocket "
     "subscribers connect there"),
    ("ws-scheme", T + '\n[target]\nhttp = "http://127.0.0.1:1"\nws = "http://127.0.0.1:2"\n',
     "s.toml:7: target.ws: expected a ws:// or wss:// URL, got 'http://127.0.0.1:2'"),
]  # fmt: skip


def _message(text: str, fmt: Format) -> str:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, path=f"s.{fmt}", fmt=fmt)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES]
)
def test_bad_target_yaml(text: str, expected: str) -> None:
    assert _message(text, "yaml") == expected


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in TOML_CASES], ids=[c[0] for c in TOML_CASES]
)
def test_bad_target_toml(text: str, expected: str) -> None:
    assert _message(text, "toml") == expected


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
@pytest.mark.parametrize("text", [FULL_YAML, Y + "target: {http: 'http://127.0.0.1:1'}\n"])
def test_dump_round_trip(fmt: Format, text: str) -> None:
    scenario = loads_scenario(text, path="s.yaml", fmt="yaml")
    dumped = dumps_scenario(scenario, fmt)
    assert "target" in dumped
    assert loads_scenario(dumped, path=f"again.{fmt}", fmt=fmt) == scenario


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_dump_writes_no_header_as_none(fmt: Format) -> None:
    scenario = loads_scenario(
        Y + "target: {http: 'http://127.0.0.1:1', observe: {upstream_header: none}}\n",
        path="s",
        fmt="yaml",
    )
    dumped = dumps_scenario(scenario, fmt)
    assert "none" in dumped
    assert loads_scenario(dumped, path="again", fmt=fmt) == scenario


def test_a_scenario_without_target_dumps_none() -> None:
    scenario = loads_scenario(Y, path="s", fmt="yaml")
    assert "target" not in dumps_scenario(scenario, "yaml")
    assert "target" not in dumps_scenario(scenario, "toml")


# --- the command line ------------------------------------------------------------------------


def test_override_sets_and_replaces_addresses() -> None:
    base = loads_scenario(Y, path="s", fmt="yaml")
    assert override_target(base, None, None) is base
    set_ = override_target(base, "http://127.0.0.1:9000", "ws://127.0.0.1:9000")
    assert set_.target == TargetSpec(http="http://127.0.0.1:9000", ws="ws://127.0.0.1:9000")
    full = loads_scenario(FULL_YAML, path="s", fmt="yaml")
    moved = override_target(full, "http://localhost:9001", None)
    assert moved.target is not None and full.target is not None
    assert moved.target.http == "http://localhost:9001"
    assert moved.target.ws == full.target.ws  # kept, as are upstreams and observers
    assert moved.target.observe == full.target.observe
    assert moved.target.upstreams == full.target.upstreams
    ws_only = override_target(full, None, "ws://127.0.0.1:7")
    assert ws_only.target is not None and ws_only.target.ws == "ws://127.0.0.1:7"


@pytest.mark.parametrize(
    ("http", "ws", "expected"),
    [
        ("http://8.8.8.8:80", None, f"--target: {LOOPBACK} 'http://8.8.8.8:80'"),
        ("127.0.0.1:8600", None, "--target: expected a http:// or https:// URL, got "
         "'127.0.0.1:8600'"),
        ("http://127.0.0.1:1", "ws://example.org", f"--target-ws: {LOOPBACK} 'ws://example.org'"),
        (None, "ws://127.0.0.1:1", "--target-ws: needs --target (or a target: in the scenario)"),
    ],
)  # fmt: skip
def test_override_refusals_are_one_line(http: str | None, ws: str | None, expected: str) -> None:
    base = loads_scenario(Y, path="s", fmt="yaml")
    with pytest.raises(ValueError) as info:
        override_target(base, http, ws)
    assert str(info.value) == expected


def test_override_needs_ws_for_ws_load() -> None:
    base = loads_scenario(Y, path="s", fmt="yaml")
    with_ws = dataclasses.replace(base, workload=WorkloadSpec(ws=WsLoadSpec(subscribers=1)))
    with pytest.raises(ValueError, match=r"^--target-ws: required by workload\.ws\.subscribers"):
        override_target(with_ws, "http://127.0.0.1:1", None)


def test_base_port_range() -> None:
    check_base_port(None, 3)
    check_base_port(1, 3)
    check_base_port(65532, 3)
    for bad in (0, -5, 65533, 70000):
        with pytest.raises(Usage) as info:
            check_base_port(bad, 3)
        assert "\n" not in str(info.value)
    with pytest.raises(Usage) as info:
        check_base_port(65533, 3)
    assert str(info.value) == (
        "--base-port: 65533 is out of range (1 to 65532 for 3 providers, which listen on "
        "N+1 to N+3)"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["replay", "S", "--target", "http://10.0.0.1:1"],
         f"battletui: --target: {LOOPBACK} 'http://10.0.0.1:1'\n"),
        (["replay", "S", "--base-port", "65534"],
         "battletui: --base-port: 65534 is out of range (1 to 65532 for 3 providers, which "
         "listen on N+1 to N+3)\n"),
        (["lab", "S", "--base-port", "0"],
         "battletui: --base-port: 0 is out of range (1 to 65532 for 3 providers, which "
         "listen on N+1 to N+3)\n"),
        (["run", "S", "--target-ws", "ws://127.0.0.1:1"],
         "battletui: --target-ws: needs --target (or a target: in the scenario)\n"),
    ],
)  # fmt: skip
def test_cli_refuses_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(Y)
    code = main([str(path) if arg == "S" else arg for arg in argv])
    assert code == 2
    assert capsys.readouterr().err == expected
