"""Loading scenario files: good files give the expected Scenario, bad ones one exact line."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

import pytest

from battletui.scenario import (
    HTTP_METHODS,
    Action,
    BreakerSpec,
    ChainSpec,
    GatewaySpec,
    HttpLoadSpec,
    ProviderSpec,
    Scenario,
    ScenarioError,
    SloSpec,
    TimelineEntry,
    WorkloadSpec,
    _validate,
    load_scenario,
    loads_scenario,
)
from battletui.scenario._toml_lines import TomlLines
from battletui.scenario.load import Format

FULL_YAML = """\
# The example from the format description.
name: http-failover
description: Kill the fastest provider and watch the gateway fail over.
seed: 42
duration: 60s
chain: {id: 1, block_time: 1s}
providers:
  - {id: alpha, latency: 20ms, jitter: 5ms}
  - {id: beta,  latency: 50ms}
  - id: gamma
    latency: 1m30s
    error_rate: 0.25
gateway:
  strategy: fastest
  timeout: 2s
  attempt_timeout: 1s
  breaker: {failures: 5, open_for: 5s, half_open_probes: 1, successes: 2}
workload:
  http: {rate: 200, mix: {eth_blockNumber: 70, eth_getBlockByNumber: 20, eth_chainId: 10},
         timeout: 5s}
slo:
  success_rate: 0.99
  p95: 300ms
timeline:
  - {at: 50s, mark: "gateway recovered"}
  - {at: 10s, kill: alpha}
  - {at: 25s, restore: alpha}
  - {at: 30s, flap: beta, down: 2s, up: 5s, cycles: 3}
  - {at: 45s, degrade: gamma, latency: +250ms, jitter: +20ms}
  - {at: 10, degrade: beta, latency: 1.5s}
"""

FULL_TOML = """\
# The same scenario, written by hand in TOML.
name = "http-failover"
description = "Kill the fastest provider and watch the gateway fail over."
seed = 42
duration = "60s"
chain = { id = 1, block_time = "1s" }

[[providers]]
id = "alpha"
latency = "20ms"
jitter = "5ms"

[[providers]]
id = "beta"
latency = "50ms"

[[providers]]
id = "gamma"
latency = 90
error_rate = 0.25

[gateway]
strategy = "fastest"
timeout = "2s"
attempt_timeout = 1
breaker = { failures = 5, open_for = "5s", half_open_probes = 1, successes = 2 }

[workload.http]
rate = 200.0
mix = { eth_blockNumber = 70, eth_getBlockByNumber = 20, eth_chainId = 10 }
timeout = "5s"

[slo]
success_rate = 0.99
p95 = "300ms"

[[timeline]]
at = "50s"
mark = "gateway recovered"

[[timeline]]
at = "10s"
kill = "alpha"

[[timeline]]
at = "25s"
restore = "alpha"

[[timeline]]
at = "30s"
flap = "beta"
down = "2s"
up = "5s"
cycles = 3

[[timeline]]
at = "45s"
degrade = "gamma"
latency = "+250ms"
jitter = "+20ms"

[[timeline]]
at = 10
degrade = "beta"
latency = "1.5s"
"""

EXPECTED = Scenario(
    name="http-failover",
    description="Kill the fastest provider and watch the gateway fail over.",
    seed=42,
    duration=60.0,
    chain=ChainSpec(id=1, block_time=1.0),
    providers=(
        ProviderSpec(id="alpha", latency=0.020, jitter=0.005),
        ProviderSpec(id="beta", latency=0.050),
        ProviderSpec(id="gamma", latency=90.0, error_rate=0.25),
    ),
    gateway=GatewaySpec(
        strategy="fastest",
        timeout=2.0,
        attempt_timeout=1.0,
        breaker=BreakerSpec(failures=5, open_for=5.0, half_open_probes=1, successes=2),
    ),
    workload=WorkloadSpec(
        http=HttpLoadSpec(
            rate=200.0,
            mix={"eth_blockNumber": 70, "eth_getBlockByNumber": 20, "eth_chainId": 10},
            timeout=5.0,
        )
    ),
    slo=SloSpec(success_rate=0.99, p95=0.3),
    timeline=(
        TimelineEntry(10.0, Action("kill", "alpha")),
        TimelineEntry(
            10.0,
            Action(
                "degrade", "beta", {"latency": 1.5, "jitter": 0.0, "relative": False, "method": ""}
            ),
        ),
        TimelineEntry(25.0, Action("restore", "alpha")),
        TimelineEntry(30.0, Action("flap", "beta", {"down": 2.0, "up": 5.0, "cycles": 3})),
        TimelineEntry(
            45.0,
            Action(
                "degrade",
                "gamma",
                {"latency": 0.25, "jitter": 0.02, "relative": True, "method": ""},
            ),
        ),
        TimelineEntry(50.0, Action("mark", None, {"label": "gateway recovered"})),
    ),
)


@pytest.mark.parametrize(("suffix", "text"), [(".yaml", FULL_YAML), (".toml", FULL_TOML)])
def test_full_file_loads(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"failover{suffix}"
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path) == EXPECTED


def test_yml_extension_and_str_path(tmp_path: Path) -> None:
    path = tmp_path / "failover.YML"
    path.write_text(FULL_YAML, encoding="utf-8")
    assert load_scenario(str(path)) == EXPECTED


def test_timeline_sort_is_stable() -> None:
    kinds = [entry.action.kind for entry in EXPECTED.timeline[:2]]
    assert kinds == ["kill", "degrade"]  # both at 10s: file order kept
    loaded = loads_scenario(FULL_YAML, path="s.yaml", fmt="yaml")
    assert [e.action.kind for e in loaded.timeline[:2]] == kinds


MINIMAL = {
    "yaml": "name: tiny\nduration: 1m30s\nproviders:\n  - id: solo\n",
    "toml": 'name = "tiny"\nduration = "1m30s"\n[[providers]]\nid = "solo"\n',
}


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_defaults_are_applied(fmt: Format) -> None:
    scenario = loads_scenario(MINIMAL[fmt], path=f"s.{fmt}", fmt=fmt)
    assert scenario == Scenario(name="tiny", duration=90.0, providers=(ProviderSpec("solo"),))
    assert scenario.description == ""
    assert scenario.seed == 0
    assert scenario.gateway == GatewaySpec()
    assert scenario.workload.http.mix == HttpLoadSpec().mix
    assert scenario.slo == SloSpec()
    assert scenario.timeline == ()


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_action_params_are_all_filled(fmt: Format) -> None:
    text = {
        "yaml": "timeline:\n  - {at: 1s, flap: solo}\n  - {at: 2s, degrade: solo, latency: 5ms}\n",
        "toml": '[[timeline]]\nat = 1\nflap = "solo"\n'
        '[[timeline]]\nat = 2\ndegrade = "solo"\nlatency = "5ms"\n',
    }[fmt]
    scenario = loads_scenario(MINIMAL[fmt] + text, path="s", fmt=fmt)
    flap, degrade = (entry.action for entry in scenario.timeline)
    assert dict(flap.params) == {"down": 2.0, "up": 3.0, "cycles": 0}
    assert dict(degrade.params) == {
        "latency": 0.005,
        "jitter": 0.0,
        "relative": False,
        "method": "",
    }
    assert flap.params == Action("flap", "solo", {"down": 2.0, "up": 3.0, "cycles": 0}).params
    assert isinstance(flap.params["cycles"], int)
    assert isinstance(degrade.params["relative"], bool)


def test_mix_is_read_only() -> None:
    scenario = loads_scenario(FULL_YAML, path="s.yaml", fmt="yaml")
    assert isinstance(scenario.workload.http.mix, MappingProxyType)


def test_known_key_lists_match_the_model() -> None:
    """The validator's key lists must follow model.py when a field is added there."""
    pairs = [
        (_validate.TOP_KEYS, Scenario),
        (_validate.CHAIN_KEYS, ChainSpec),
        (_validate.PROVIDER_KEYS, ProviderSpec),
        (_validate.GATEWAY_KEYS, GatewaySpec),
        (_validate.BREAKER_KEYS, BreakerSpec),
        (_validate.WORKLOAD_KEYS, WorkloadSpec),
        (_validate.HTTP_KEYS, HttpLoadSpec),
        (_validate.SLO_KEYS, SloSpec),
    ]
    # HttpLoadSpec.closed is what `rate: max` says, .preset what `mix: dapp` says: not keys
    not_keys = {"closed", "preset"}
    for keys, cls in pairs:
        assert set(keys) == {f.name for f in dataclasses.fields(cls)} - not_keys, cls.__name__


# --- malformed files: the exact one-line message ---------------------------------------------

Y = "name: demo\nduration: 60s\nproviders:\n  - {id: alpha}\n  - {id: beta}\n  - {id: gamma}\n"
"""Valid YAML head, lines 1-6; cases append from line 7."""

T = 'name = "demo"\nduration = "60s"\n\n[[providers]]\nid = "alpha"\n\n[[providers]]\nid = "beta"\n'
T += '\n[[providers]]\nid = "gamma"\n'
"""Valid TOML, lines 1-11; cases append tables from line 12."""

T_PROVIDERS = '\n[[providers]]\nid = "alpha"\n\n[[providers]]\nid = "beta"\n'
T_PROVIDERS += '\n[[providers]]\nid = "gamma"\n'
"""Just the providers of ``T`` (lines +1 to +9), for cases that change the top-level keys."""

YAML_CASES = [
    ("syntax", "name: demo\nduration: [60s\nproviders: []\n",
     "s.yaml:3: (syntax): while parsing a flow sequence, expected ',' or ']', but got ':'"),
    ("syntax-indent", "name: demo\n  duration: 60s\n",
     "s.yaml:2: (syntax): mapping values are not allowed here"),
    ("seed-type", "seed: abc\n" + Y, "s.yaml:1: seed: expected an integer, got 'abc'"),
    ("seed-bool", Y + "seed: yes\n", "s.yaml:7: seed: expected an integer, got True"),
    ("name-type", "name: 12\nduration: 60s\n", "s.yaml:1: name: expected a string, got 12"),
    ("name-empty", "name: ''\nduration: 60s\n", "s.yaml:1: name: must not be empty"),
    ("description-null", Y + "description:\n",
     "s.yaml:7: description: expected a string, got nothing"),
    ("unknown-top", Y + "nmae: demo\n",
     "s.yaml:7: nmae: unknown key (known: name, description, seed, duration, chain, providers, "
     "gateway, target, workload, slo, timeline)"),
    ("unknown-nested", Y + "gateway:\n  breaker:\n    failures: 5\n    failurs: 5\n",
     "s.yaml:10: gateway.breaker.failurs: unknown key "
     "(known: failures, window, failure_rate, min_calls, open_for, max_open_for, "
     "half_open_probes, successes)"),
    ("unknown-provider-key", "name: d\nduration: 1s\nproviders:\n  - {id: a, latncy: 5ms}\n",
     "s.yaml:4: providers[0].latncy: unknown key (known: id, latency, jitter, error_rate)"),
    ("unknown-provider", Y + "timeline:\n  - {at: 1s, kill: alpha}\n  - {at: 2s, kill: alfa}\n",
     "s.yaml:9: timeline[1].kill: unknown provider 'alfa' (known: alpha, beta, gamma)"),
    ("negative-duration", "name: d\nduration: -5s\n",
     "s.yaml:2: duration: duration must be zero or more, got '-5s'"),
    ("short-duration", "name: d\nduration: 500ms\n",
     "s.yaml:2: duration: must be 0 (run until quit) or at least 1s, got '500ms'"),
    ("bad-duration", "name: d\nduration: 1s\nproviders:\n  - id: a\n    latency: fast\n",
     "s.yaml:5: providers[0].latency: expected a duration like '250ms' or '10s', got 'fast'"),
    ("sign-not-allowed", "name: d\nduration: 1s\nproviders:\n  - {id: a, latency: +5ms}\n",
     "s.yaml:4: providers[0].latency: a '+' step is not allowed here: '+5ms'"),
    ("after-end", Y + "timeline:\n  - {at: 1s, kill: alpha}\n  - {at: 1s, kill: beta}\n"
     "  - {at: 5s, kill: gamma}\n  - {at: 70s, restore: gamma}\n",
     "s.yaml:11: timeline[3].at: action at 70s is after the end of the session (60s)"),
    ("two-actions", Y + "timeline:\n  - {at: 1s, kill: alpha, restore: alpha}\n",
     "s.yaml:8: timeline[0].restore: two actions in one entry (kill, restore); "
     "use one entry per action"),
    ("no-action", Y + "timeline:\n  - {at: 1s}\n",
     "s.yaml:8: timeline[0]: no action (expected one of: kill, restore, degrade, flap, "
     "ws-drop, errors, hang, lag, reorg, strategy, load, mark)"),
    ("no-action-typo", Y + "timeline:\n  - at: 1s\n    kil: alpha\n",
     "s.yaml:9: timeline[0].kil: unknown key (known: at, kill, restore, degrade, flap, "
     "ws-drop, errors, hang, lag, reorg, strategy, load, mark, code, cycles, down, jitter, kind, "
     "latency, method, rate, retry_after, up)"),
    ("param-of-other-kind", Y + "timeline:\n  - {at: 1s, kill: alpha, latency: 5ms}\n",
     "s.yaml:8: timeline[0].latency: unknown key (known: at, kill)"),
    ("missing-at", Y + "timeline:\n  - {kill: alpha}\n",
     "s.yaml:8: timeline[0].at: required key is missing"),
    ("entry-not-mapping", Y + "timeline:\n  - kill alpha\n",
     "s.yaml:8: timeline[0]: expected a mapping like {at: 10s, kill: alpha}, got 'kill alpha'"),
    ("empty-mark", Y + "timeline:\n  - {at: 1s, mark: ''}\n",
     "s.yaml:8: timeline[0].mark: must not be empty"),
    ("flap-cycles", Y + "timeline:\n  - {at: 1s, flap: beta, cycles: -1}\n",
     "s.yaml:8: timeline[0].cycles: must be 0 or more, got -1"),
    ("flap-zero-up", Y + "timeline:\n  - {at: 1s, flap: beta, up: 0s}\n",
     "s.yaml:8: timeline[0].up: must be more than 0, got '0s'"),
    ("degrade-no-latency", Y + "timeline:\n  - {at: 1s, degrade: beta, jitter: 5ms}\n",
     "s.yaml:8: timeline[0].latency: required key is missing"),
    ("degrade-sign", Y + "timeline:\n  - at: 1s\n    degrade: beta\n    latency: +5ms\n"
     "    jitter: 1ms\n",
     "s.yaml:11: timeline[0].jitter: latency and jitter must both start with '+' "
     "(a step on top) or neither"),
    ("missing-name", "# comment\nduration: 60s\nproviders: [{id: a}]\n",
     "s.yaml:1: name: required key is missing"),
    ("missing-duration", "name: d\nproviders: [{id: a}]\n",
     "s.yaml:1: duration: required key is missing"),
    ("missing-providers", "name: d\nduration: 60s\n",
     "s.yaml:1: providers: required key is missing"),
    ("no-providers", "name: d\nduration: 60s\nproviders: []\n",
     "s.yaml:3: providers: at least one provider is required"),
    ("providers-not-list", "name: d\nduration: 60s\nproviders: {id: a}\n",
     "s.yaml:3: providers: expected a list, got a mapping"),
    ("missing-provider-id", "name: d\nduration: 60s\nproviders:\n  - {id: a}\n  - latency: 5ms\n",
     "s.yaml:5: providers[1].id: required key is missing"),
    ("duplicate-provider", Y + "  - {id: beta}\n",
     "s.yaml:7: providers[3].id: duplicate provider id 'beta' (also providers[1])"),
    ("too-many-providers", "name: d\nduration: 60s\nproviders:\n"
     + "".join(f"  - {{id: p{i}}}\n" for i in range(10)),
     "s.yaml:13: providers[9]: too many providers (at most 9)"),
    ("bad-provider-id", "name: d\nduration: 60s\nproviders:\n  - {id: Alpha}\n",
     "s.yaml:4: providers[0].id: invalid provider id 'Alpha' "
     "(a lowercase letter, then up to 15 of a-z 0-9 _ -)"),
    ("error-rate", "name: d\nduration: 60s\nproviders:\n  - {id: a, error_rate: 1.5}\n",
     "s.yaml:4: providers[0].error_rate: must be between 0 and 1, got 1.5"),
    ("unknown-strategy", Y + "gateway:\n  strategy: fastst\n",
     "s.yaml:8: gateway.strategy: unknown strategy 'fastst' (known: fastest, priority, "
     "round-robin, latency-weighted)"),
    ("breaker-zero", Y + "gateway: {breaker: {successes: 0}}\n",
     "s.yaml:7: gateway.breaker.successes: must be 1 or more, got 0"),
    ("chain-id", Y + "chain:\n  id: 0\n", "s.yaml:8: chain.id: must be 1 or more, got 0"),
    ("unknown-method", Y + "workload:\n  http:\n    mix:\n      eth_blockNumber: 1\n"
     "      eth_sendRawTransaction: 1\n",
     "s.yaml:11: workload.http.mix.eth_sendRawTransaction: unknown method (known: "
     + ", ".join(HTTP_METHODS) + ")"),
    ("unknown-preset", Y + "workload:\n  http:\n    mix: trader\n",
     "s.yaml:9: workload.http.mix: unknown mix 'trader' (presets: dapp, wallet, indexer;"
     " or method: weight)"),
    ("stale-blocks", Y + "workload:\n  stale_blocks: -1\n",
     "s.yaml:8: workload.stale_blocks: must be 0 or more, got -1"),
    ("mix-zero", Y + "workload:\n  http:\n    mix: {eth_chainId: 0}\n",
     "s.yaml:9: workload.http.mix: weights must add up to more than 0"),
    ("mix-weight-type", Y + "workload:\n  http:\n    mix: {eth_chainId: 0.5}\n",
     "s.yaml:9: workload.http.mix.eth_chainId: expected an integer, got 0.5"),
    ("rate-too-high", Y + "workload:\n  http: {rate: 300000}\n",
     "s.yaml:8: workload.http.rate: must be between 0 and 200000, got 300000"),
    ("rate-word", Y + "workload:\n  http: {rate: fast}\n",
     "s.yaml:8: workload.http.rate: expected requests per second or max, got 'fast'"),
    ("workers-zero", Y + "workload:\n  http: {workers: 0}\n",
     "s.yaml:8: workload.http.workers: must be 1 or more, got 0"),
    ("workers-word", Y + "workload:\n  http: {workers: many}\n",
     "s.yaml:8: workload.http.workers: expected a number of processes or auto, got 'many'"),
    ("workers-too-many", Y + "workload:\n  http: {workers: 65}\n",
     "s.yaml:8: workload.http.workers: must be between 1 and 64, got 65"),
    ("connections-zero", Y + "workload:\n  http: {connections: 0}\n",
     "s.yaml:8: workload.http.connections: must be 1 or more, got 0"),
    ("rate-bool", Y + "workload:\n  http: {rate: true}\n",
     "s.yaml:8: workload.http.rate: expected a number, got True"),
    ("slo-rate", Y + "slo: {success_rate: 99}\n",
     "s.yaml:7: slo.success_rate: must be between 0 and 1, got 99"),
    ("slo-unknown", Y + "slo:\n  p90: 1s\n",
     "s.yaml:8: slo.p90: unknown key (known: success_rate, p50, p95, p99, max, ws_gaps, "
     "ws_duplicates, ws_max_stall, stale_rate, wrong_answers)"),
    ("duplicate-key", Y + "seed: 1\n# later\nseed: 2\n",
     "s.yaml:9: seed: duplicate key (first at line 7)"),
    ("duplicate-nested-key", Y + "timeline:\n  - {at: 1s, kill: alpha, at: 2s}\n",
     "s.yaml:8: timeline[0].at: duplicate key (first at line 8)"),
    ("not-a-mapping", "- name: d\n- duration: 60s\n",
     "s.yaml:1: (top level): expected a mapping, got a list"),
    ("scalar-top", "just text\n", "s.yaml:1: (top level): expected a mapping, got 'just text'"),
    ("empty", "# nothing yet\n",
     "s.yaml:1: (file): empty scenario (it needs at least name, duration and providers)"),
    ("yaml-11-bool-key", Y + "on: 1\n",
     "s.yaml:7: on: unknown key (known: name, description, seed, duration, chain, providers, "
     "gateway, target, workload, slo, timeline)"),
    ("non-scalar-key", Y + "? [a]\n: 1\n", "s.yaml:7: (top level): keys must be plain names"),
    ("unknown-tag", Y + "seed: !thing 3\n",
     "s.yaml:7: seed: cannot read this value: could not determine a constructor for the tag "
     "'!thing'"),
    ("control-character", Y + "description: a\x07b\n",
     "s.yaml:7: (syntax): unacceptable character #x0007: special characters are not allowed"),
    ("tab-indent", Y + "\tseed: 1\n",
     "s.yaml:7: (syntax): while scanning for the next token, found character '\\t' that "
     "cannot start any token"),
    ("recursive-alias", Y + "timeline: &x [*x]\n",
     "s.yaml:7: timeline[0]: an alias refers to itself"),
    ("null-entry", Y + "timeline:\n  - {at: 1s, kill: alpha}\n  -\n",
     "s.yaml:9: timeline[1]: expected a mapping like {at: 10s, kill: alpha}, got nothing"),
    ("nan-rate", Y + "workload: {http: {rate: .nan}}\n",
     "s.yaml:7: workload.http.rate: must be between 0 and 200000, got nan"),
    ("multiple-documents", Y + "---\nname: again\n",
     "s.yaml:7: (syntax): expected a single document in the stream, "
     "but found another document"),
]  # fmt: skip

TOML_CASES = [
    ("syntax", 'name = "demo\nduration = "60s"\n',
     "s.toml:1: (syntax): Illegal character '\\n'"),
    ("syntax-end", T + "[gateway]\nbreaker = {failures = 5\n",
     "s.toml:13: (syntax): Unclosed inline table"),
    ("duplicate-key", 'seed = 1\nseed = 2\n' + T, "s.toml:2: (syntax): Cannot overwrite a value"),
    ("seed-type", 'seed = "abc"\n' + T, "s.toml:1: seed: expected an integer, got 'abc'"),
    ("seed-bool", 'name = "d"\nduration = 1\nseed = true\n' + T_PROVIDERS,
     "s.toml:3: seed: expected an integer, got True"),
    ("unknown-top", 'nmae = "x"\n' + T,
     "s.toml:1: nmae: unknown key (known: name, description, seed, duration, chain, providers, "
     "gateway, target, workload, slo, timeline)"),
    ("unknown-nested", T + "\n[gateway]\ntimeout = 1\n\n[gateway.breaker]\nfailures = 5\n"
     "failurs = 5\n",
     "s.toml:18: gateway.breaker.failurs: unknown key "
     "(known: failures, window, failure_rate, min_calls, open_for, max_open_for, "
     "half_open_probes, successes)"),
    ("unknown-nested-dotted", T + "\n[gateway]\nbreaker.failurs = 5\n",
     "s.toml:14: gateway.breaker.failurs: unknown key "
     "(known: failures, window, failure_rate, min_calls, open_for, max_open_for, "
     "half_open_probes, successes)"),
    ("unknown-nested-inline", T + '\n[gateway]\nstrategy = "fastest"\n'
     "breaker = { failures = 5, failurs = 5 }\n",
     "s.toml:15: gateway.breaker.failurs: unknown key "
     "(known: failures, window, failure_rate, min_calls, open_for, max_open_for, "
     "half_open_probes, successes)"),
    ("unknown-provider", T + '\n[[timeline]]\nat = 1\nkill = "alpha"\n\n'
     '[[timeline]]\nat = "2s"\n# the typo:\nkill = "alfa"\n',
     "s.toml:20: timeline[1].kill: unknown provider 'alfa' (known: alpha, beta, gamma)"),
    ("negative-duration", 'name = "d"\nduration = -5\n' + T_PROVIDERS,
     "s.toml:2: duration: duration must be zero or more, got -5"),
    ("bad-duration", 'name = "d"\nduration = "soon"\n' + T_PROVIDERS,
     "s.toml:2: duration: expected a duration like '250ms' or '10s', got 'soon'"),
    ("after-end", T + '\n[[timeline]]\nat = "59.5s"\nkill = "alpha"\n\n'
     '[[timeline]]\nat = "1m1s"\nrestore = "alpha"\n',
     "s.toml:18: timeline[1].at: action at 61s is after the end of the session (60s)"),
    ("two-actions", T + '\n[[timeline]]\nat = 1\nkill = "alpha"\nrestore = "alpha"\n',
     "s.toml:16: timeline[0].restore: two actions in one entry (kill, restore); "
     "use one entry per action"),
    ("missing-at", T + '\n[[timeline]]\nkill = "alpha"\n',
     "s.toml:13: timeline[0].at: required key is missing"),
    ("missing-name", 'duration = "60s"\n' + T_PROVIDERS, "s.toml:1: name: required key is missing"),
    ("missing-duration", 'name = "d"\n' + T_PROVIDERS,
     "s.toml:1: duration: required key is missing"),
    ("missing-providers", 'name = "d"\nduration = "60s"\n',
     "s.toml:1: providers: required key is missing"),
    ("missing-provider-id", 'name = "d"\nduration = 60\n\n[[providers]]\nid = "a"\n\n'
     '[[providers]]\nlatency = "5ms"\n',
     "s.toml:7: providers[1].id: required key is missing"),
    ("duplicate-provider", T + '\n[[providers]]\nlatency = "1ms"\nid = "beta"\n',
     "s.toml:15: providers[3].id: duplicate provider id 'beta' (also providers[1])"),
    ("duplicate-provider-inline", 'name = "d"\nduration = 60\nproviders = [\n'
     '  {id = "alpha"},  # first\n  {id = "beta", latency = "5ms"},\n'
     '  {latency = "1ms", id = "alpha"},\n]\n',
     "s.toml:6: providers[2].id: duplicate provider id 'alpha' (also providers[0])"),
    ("too-many-providers", 'name = "d"\nduration = 60\n'
     + "".join(f'[[providers]]\nid = "p{i}"\n' for i in range(10)),
     "s.toml:21: providers[9]: too many providers (at most 9)"),
    ("too-many-providers-inline", 'name = "d"\nduration = 60\nproviders = ['
     + ", ".join(f'{{id = "p{i}"}}' for i in range(10)) + "]\n",
     "s.toml:3: providers[9]: too many providers (at most 9)"),
    ("unknown-strategy", T + '\n[gateway]\nstrategy = "fastst"\n',
     "s.toml:14: gateway.strategy: unknown strategy 'fastst' (known: fastest, priority, "
     "round-robin, latency-weighted)"),
    ("unknown-method", T + "\n[workload.http]\nrate = 5\n\n[workload.http.mix]\n"
     "eth_blockNumber = 1\n'eth_sendRawTransaction' = 1\n",
     "s.toml:18: workload.http.mix.eth_sendRawTransaction: unknown method (known: "
     + ", ".join(HTTP_METHODS) + ")"),
    ("degrade-sign", T + '\n[[timeline]]\nat = 1\ndegrade = "beta"\nlatency = "5ms"\n'
     'jitter = "+1ms"\n',
     "s.toml:17: timeline[0].jitter: latency and jitter must both start with '+' "
     "(a step on top) or neither"),
    ("degrade-sign-inline", 'name = "d"\nduration = 60\nproviders = [{id = "a"}]\ntimeline = [\n'
     '  {at = "1s", kill = "a"},\n  {at = "2s", degrade = "a", latency = "+5ms", jitter = "1ms"},\n'
     "]\n",
     "s.toml:6: timeline[1].jitter: latency and jitter must both start with '+' "
     "(a step on top) or neither"),
    ("no-action", T + '\n[[timeline]]\nat = 1\nkill = "alpha"\n\n[[timeline]]\nat = 2\n',
     "s.toml:17: timeline[1]: no action (expected one of: kill, restore, degrade, flap, "
     "ws-drop, errors, hang, lag, reorg, strategy, load, mark)"),
    ("bad-duration-inline", 'name = "d"\nduration = 60\n'
     'providers = [{id = "a", latency = "5ms", jitter = "x"}]\n',
     "s.toml:3: providers[0].jitter: expected a duration like '250ms' or '10s', got 'x'"),
    ("seed-float-after-multiline-string",
     'name = "n"\ndescription = """multi\nline [x]"""\nduration = 60\n'
     'seed = 1.5\nproviders = [{id = "a"}]\n',
     "s.toml:5: seed: expected an integer, got 1.5"),
    ("timeline-not-list", T + "\n[timeline]\nat = 1\n",
     "s.toml:13: timeline: expected a list, got a mapping"),
    ("datetime", 'name = "d"\nduration = 1979-05-27\n' + T_PROVIDERS,
     "s.toml:2: duration: expected a duration like '250ms' or '10s', "
     "got datetime.date(1979, 5, 27)"),
    ("empty", "# nothing yet\n",
     "s.toml:1: (file): empty scenario (it needs at least name, duration and providers)"),
]  # fmt: skip


def _message(text: str, fmt: Format) -> str:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, path=f"s.{fmt}", fmt=fmt)
    message = str(info.value)
    assert "\n" not in message
    err = info.value
    assert message == f"{err.path}:{err.line}: {err.field}: {err.message}"
    return message


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES]
)
def test_bad_yaml(text: str, expected: str) -> None:
    assert _message(text, "yaml") == expected


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in TOML_CASES], ids=[c[0] for c in TOML_CASES]
)
def test_bad_toml(text: str, expected: str) -> None:
    assert _message(text, "toml") == expected


def test_bases_are_valid() -> None:
    assert loads_scenario(Y, path="s.yaml", fmt="yaml").provider_ids == ("alpha", "beta", "gamma")
    assert loads_scenario(T, path="s.toml", fmt="toml").provider_ids == ("alpha", "beta", "gamma")


def test_error_attributes() -> None:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(Y + "timeline:\n  - {at: 1s, kill: alfa}\n", path="x/y.yaml", fmt="yaml")
    err = info.value
    assert (err.path, err.line, err.field) == ("x/y.yaml", 8, "timeline[0].kill")
    assert err.message == "unknown provider 'alfa' (known: alpha, beta, gamma)"


# --- file-level problems ----------------------------------------------------------------------


def test_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: unknown file type '.json' (expected .yaml, .yml or .toml)")


def test_no_extension() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("scenario")
    assert str(info.value) == (
        "scenario: unknown file type '(none)' (expected .yaml, .yml or .toml)"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: no such file"


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "dir.toml"
    path.mkdir()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}: is a directory, not a scenario file (.yaml, .yml or .toml)"
    )


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: d\nduration: 1s\ndescription: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}:3: (file): not UTF-8 text"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL["toml"].encode())
    assert load_scenario(path).name == "tiny"


def test_syntax_error_from_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: d\nduration: 1s\nproviders: [\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "(syntax)"
    assert info.value.line == 4


def test_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="json"):
        loads_scenario("{}", path="s", fmt="json")  # type: ignore[arg-type]


# --- the TOML line finder on its own ----------------------------------------------------------


def test_toml_lines_steps_over_strings_and_comments() -> None:
    text = (
        'name = "a [not] table # nor comment"\n'  # 1
        "description = '''\n"  # 2
        "[[providers]]\n"  # 3  (inside the string)
        "'''\n"  # 4
        'other = """x \\""" ]"""\n'  # 5
        "# [[timeline]]\n"  # 6
        "\n"  # 7
        "[[ providers ]]  # first\n"  # 8
        'id = "a"\n'  # 9
        "[[providers]]\n"  # 10
        '"id" = "b"\n'  # 11
        "[gateway]\n"  # 12
        "breaker.failures = 5\n"  # 13
        "list = [\n"  # 14
        "  1, # one\n"  # 15
        "  [2, 3],\n"  # 16
        "]\n"  # 17
        "when = 1979-05-27 07:32:00Z\n"  # 18
    )
    lines = TomlLines(text)
    assert lines.line(("name",), "value") == 1
    assert lines.line(("description",), "value") == 2
    assert lines.line(("other",), "value") == 5
    assert lines.line(("providers", 0), "value") == 8
    assert lines.line(("providers", 0, "id"), "key") == 9
    assert lines.line(("providers", 1, "id"), "value") == 11
    assert lines.line(("providers", 1, "latency"), "parent") == 10
    assert lines.line(("gateway", "breaker", "failures"), "value") == 13
    assert lines.line(("gateway", "breaker"), "value") == 13
    assert lines.line(("gateway", "list", 1), "value") == 16
    assert lines.line(("gateway", "list", 1, 0), "value") == 16
    assert lines.line(("gateway", "when"), "value") == 18
    assert lines.line(("gateway", "nope"), "key") == 12
    assert lines.line(("slo", "p95"), "value") == 1
    assert lines.line(("name",), "parent") == 1
