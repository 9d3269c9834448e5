"""Dumping scenarios: readable output that loads back to an equal Scenario."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from battletui.scenario import (
    HTTP_METHODS,
    STRATEGIES,
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
    dump_scenario,
    dumps_scenario,
    load_scenario,
    loads_scenario,
)
from battletui.scenario.dump import duration_text
from battletui.scenario.load import Format

FAILOVER = Scenario(
    name="http-failover",
    description="Kill the fastest provider and watch the gateway fail over.",
    seed=42,
    duration=60.0,
    chain=ChainSpec(id=1, block_time=1.0),
    providers=(
        ProviderSpec(id="alpha", latency=0.020, jitter=0.005),
        ProviderSpec(id="beta", latency=0.050),
        ProviderSpec(id="gamma", latency=0.120, error_rate=0.01),
    ),
    gateway=GatewaySpec(
        strategy="round-robin",
        breaker=BreakerSpec(failures=3, open_for=2.5, half_open_probes=2, successes=1),
    ),
    workload=WorkloadSpec(http=HttpLoadSpec(rate=200.0)),
    slo=SloSpec(success_rate=0.99, p95=0.3),
    timeline=(
        TimelineEntry(10.25, Action("kill", "alpha")),
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
        TimelineEntry(
            48.0,
            Action(
                "degrade", "gamma", {"latency": 0.1, "jitter": 0.0, "relative": False, "method": ""}
            ),
        ),
        TimelineEntry(50.0, Action("mark", None, {"label": "gateway recovered"})),
    ),
)

FAILOVER_YAML = """\
name: http-failover
description: Kill the fastest provider and watch the gateway fail over.
seed: 42
duration: 60s
chain: {id: 1, block_time: 1s}

providers:
  - {id: alpha, latency: 20ms, jitter: 5ms, error_rate: 0}
  - {id: beta, latency: 50ms, jitter: 0s, error_rate: 0}
  - {id: gamma, latency: 120ms, jitter: 0s, error_rate: 0.01}

gateway:
  strategy: round-robin
  timeout: 2s
  attempt_timeout: 1s
  ws_stall_timeout: 3s
  ws_backfill_limit: 128
  lag_blocks: 3
  breaker:
    failures: 3
    window: 20
    failure_rate: 0.5
    min_calls: 10
    open_for: 2.5s
    max_open_for: 60s
    half_open_probes: 2
    successes: 1

workload:
  http:
    rate: 200
    mix: {eth_blockNumber: 70, eth_getBlockByNumber: 20, eth_chainId: 10}
    timeout: 5s

slo:
  success_rate: 0.99
  p95: 300ms

timeline:
  - {at: 10.25s, kill: alpha}
  - {at: 25s, restore: alpha}
  - {at: 30s, flap: beta, down: 2s, up: 5s, cycles: 3}
  - {at: 45s, degrade: gamma, latency: +250ms, jitter: +20ms}
  - {at: 48s, degrade: gamma, latency: 100ms}
  - {at: 50s, mark: gateway recovered}
"""

FAILOVER_TOML_HEAD = """\
name = "http-failover"
description = "Kill the fastest provider and watch the gateway fail over."
seed = 42
duration = "60s"

[chain]
id = 1
block_time = "1s"

[[providers]]
id = "alpha"
latency = "20ms"
jitter = "5ms"
error_rate = 0
"""

FAILOVER_TOML_TAIL = """\
[slo]
success_rate = 0.99
p95 = "300ms"

[[timeline]]
at = "10.25s"
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
at = "48s"
degrade = "gamma"
latency = "100ms"

[[timeline]]
at = "50s"
mark = "gateway recovered"
"""


def test_yaml_reads_like_a_hand_written_file() -> None:
    assert dumps_scenario(FAILOVER, "yaml") == FAILOVER_YAML


def test_toml_reads_like_a_hand_written_file() -> None:
    text = dumps_scenario(FAILOVER, "toml")
    assert text.startswith(FAILOVER_TOML_HEAD)
    assert text.endswith(FAILOVER_TOML_TAIL)
    assert '[gateway]\nstrategy = "round-robin"\ntimeout = "2s"\nattempt_timeout = "1s"\n' in text
    assert "[gateway.breaker]\nfailures = 3\n" in text
    assert '[workload.http]\nrate = 200\ntimeout = "5s"\n\n[workload.http.mix]\n' in text


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_round_trip_every_action_kind(fmt: Format) -> None:
    text = dumps_scenario(FAILOVER, fmt)
    assert loads_scenario(text, path=f"s.{fmt}", fmt=fmt) == FAILOVER
    kinds = {entry.action.kind for entry in FAILOVER.timeline}
    assert kinds == {"kill", "restore", "flap", "degrade", "mark"}


MINIMAL = Scenario(name="tiny", duration=5.0, providers=(ProviderSpec("solo"),))


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_round_trip_the_closed_loop_workers_and_connections(fmt: Format) -> None:
    http = HttpLoadSpec(closed=True, workers=3, connections=16)
    scenario = Scenario(
        name="capacity", duration=5.0, providers=(ProviderSpec("solo"),),
        workload=WorkloadSpec(http=http),
    )  # fmt: skip
    text = dumps_scenario(scenario, fmt)
    assert ("rate: max" if fmt == "yaml" else 'rate = "max"') in text
    assert loads_scenario(text, path="s", fmt=fmt) == scenario
    auto = dumps_scenario(MINIMAL, fmt)
    assert "workers" not in auto and "connections" not in auto, "defaults stay unsaid"


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_round_trip_defaults(fmt: Format) -> None:
    text = dumps_scenario(MINIMAL, fmt)
    assert loads_scenario(text, path="s", fmt=fmt) == MINIMAL
    assert "description" not in text
    assert "slo" not in text
    assert "timeline" not in text
    assert "breaker" in text  # recorded files spell out what ran


AWKWARD = Scenario(
    name="- yes: {no}, [#1]",
    description="two\nlines with 'quotes', \"double\" and \\ and ünïcödé \u2028 \x85 \t tab",
    seed=-(2**40),
    duration=3600.123,
    chain=ChainSpec(id=2**31, block_time=0.1005),  # the fastest chain a file may ask for
    providers=(
        ProviderSpec(id="no", latency=0.0123456, jitter=1e-7, error_rate=1e-05),
        ProviderSpec(id="on", latency=1 / 3, jitter=2.0, error_rate=1.0),
        ProviderSpec(id="null", latency=0.0),
        ProviderSpec(id="true"),
        ProviderSpec(id="y_-9"),
    ),
    gateway=GatewaySpec(timeout=0.1 + 0.2, attempt_timeout=90.0),
    workload=WorkloadSpec(
        http=HttpLoadSpec(rate=33.3, mix={"net_version": 1, "eth_chainId": 0}, timeout=1e-3)
    ),
    slo=SloSpec(p50=0.001, p99=2.0, max=86400.0),
    timeline=(
        TimelineEntry(0.0, Action("mark", None, {"label": "yes"})),
        TimelineEntry(0.0, Action("mark", None, {"label": "at: 5s, kill: no # not a comment"})),
        TimelineEntry(0.0005, Action("kill", "no")),
        TimelineEntry(
            1 / 7,
            Action(
                "degrade", "on", {"latency": 0.0, "jitter": 0.0, "relative": True, "method": ""}
            ),
        ),
        TimelineEntry(2.0, Action("flap", "null", {"down": 1e-4, "up": 7.0, "cycles": 0})),
        TimelineEntry(3600.123, Action("restore", "true")),
    ),
)


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_round_trip_awkward_values(fmt: Format) -> None:
    """Strings YAML would read as bools or flow syntax, and durations not whole milliseconds."""
    text = dumps_scenario(AWKWARD, fmt)
    assert loads_scenario(text, path="s", fmt=fmt) == AWKWARD


def _slo(success_rate: float | None, latencies: dict[str, float]) -> SloSpec:
    """The SLO with ``success_rate`` and whichever of p50/p95/p99/max ``latencies`` holds."""
    return SloSpec(
        success_rate=success_rate,
        p50=latencies.get("p50"),
        p95=latencies.get("p95"),
        p99=latencies.get("p99"),
        max=latencies.get("max"),
    )


def _random_scenario(rng: random.Random) -> Scenario:
    def seconds(low: float = 0.0) -> float:
        return rng.choice(
            [low + rng.random() * 10, float(rng.randint(1, 120)), 0.001 * rng.randint(1, 999)]
        )

    ids = rng.sample(
        ["alpha", "beta", "gamma", "delta", "e1", "f-2", "g_3", "h", "i"], rng.randint(1, 9)
    )
    duration = max(1.0, seconds(0.5))  # a session lasts 0 (until quit) or 1 s at least
    timeline: list[TimelineEntry] = []
    for _ in range(rng.randint(0, 12)):
        kind = rng.choice(["kill", "restore", "degrade", "flap", "mark"])
        target: str | None = rng.choice(ids)
        if kind == "degrade":
            params: dict[str, float | int | bool | str] = {
                "latency": seconds(),
                "jitter": rng.choice([0.0, seconds()]),
                "relative": rng.random() < 0.5,
                "method": rng.choice(["", "eth_getLogs"]),
            }
        elif kind == "flap":
            params = {"down": seconds(0.01), "up": seconds(0.01), "cycles": rng.randint(0, 5)}
        elif kind == "mark":
            target, params = None, {"label": rng.choice(["x", "phase 2", "on", "a: b", "1.5"])}
        else:
            params = {}
        timeline.append(TimelineEntry(rng.random() * duration, Action(kind, target, params)))
    slo_keys = rng.sample(["p50", "p95", "p99", "max"], rng.randint(0, 4))
    return Scenario(
        name=f"random {rng.random()}",
        description=rng.choice(["", "some words"]),
        seed=rng.randint(-1000, 2**63),
        duration=duration,
        chain=ChainSpec(id=rng.randint(1, 99999), block_time=max(0.1, seconds(0.01))),
        providers=tuple(
            ProviderSpec(i, latency=seconds(), jitter=seconds(), error_rate=rng.random())
            for i in ids
        ),
        gateway=GatewaySpec(
            strategy=rng.choice(STRATEGIES),
            timeout=seconds(0.01),
            attempt_timeout=seconds(0.01),
            breaker=BreakerSpec(
                rng.randint(1, 9), seconds(0.01), rng.randint(1, 9), rng.randint(1, 9)
            ),
        ),
        workload=WorkloadSpec(
            http=HttpLoadSpec(
                rate=rng.choice([0.0, 10_000.0, rng.random() * 500]),
                mix={m: rng.randint(1, 100) for m in rng.sample(HTTP_METHODS, rng.randint(1, 6))},
                timeout=seconds(0.01),
            )
        ),
        slo=_slo(rng.choice([None, rng.random()]), {k: seconds(0.01) for k in slo_keys}),
        timeline=tuple(sorted(timeline, key=lambda e: e.at)),
    )


@pytest.mark.parametrize("fmt", ["yaml", "toml"])
def test_round_trip_random_scenarios(fmt: Format) -> None:
    rng = random.Random(20240601)
    for _ in range(200):
        scenario = _random_scenario(rng)
        text = dumps_scenario(scenario, fmt)
        assert loads_scenario(text, path="s", fmt=fmt) == scenario, text


@pytest.mark.parametrize("name", ["s.yaml", "s.yml", "s.toml", "S.TOML"])
def test_dump_and_load_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    dump_scenario(FAILOVER, path)
    assert load_scenario(path) == FAILOVER
    assert path.read_bytes().count(b"\r") == 0


def test_dump_file_with_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with pytest.raises(ScenarioError) as info:
        dump_scenario(FAILOVER, path)
    assert info.value.field == "(file)"
    assert not path.exists()


def test_dumps_unknown_format() -> None:
    with pytest.raises(ValueError, match="ini"):
        dumps_scenario(FAILOVER, "ini")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "relative", "text"),
    [
        (0.25, False, "250ms"),
        (60.0, False, "60s"),
        (10.25, False, "10.25s"),
        (0.02, True, "+20ms"),
        (0.0005, False, "0.0005s"),
        (0.0123456, False, "0.0123456s"),
        (1e-7, True, "+0.0000001s"),
        (0.0, False, "0s"),
    ],
)
def test_duration_text(seconds: float, relative: bool, text: str) -> None:
    assert duration_text(seconds, relative) == text
