"""The HAProxy worked example (examples/haproxy/): its files agree with each other, and
(slow) a replay through a real ``haproxy`` shows the kill and the JSON-RPC errors."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO

from battletui.scenario import Scenario, load_scenario

EXAMPLE = REPO / "examples" / "haproxy"
SCENARIO = EXAMPLE / "haproxy-chaos.yaml"
REFERENCE = EXAMPLE / "reference-chaos.yaml"
WHY_NO_HAPROXY = (
    "haproxy is not installed and could not be installed here "
    "(.ci/run installs it with apt-get install haproxy)"
)


def make_config() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_config", EXAMPLE / "make_config.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_config"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def haproxy() -> str:
    path = shutil.which("haproxy")
    if path is None:
        print(f"SKIPPED: {WHY_NO_HAPROXY}", file=sys.stderr)
        pytest.skip(WHY_NO_HAPROXY)
    return path


def test_the_two_scenarios_differ_only_by_the_system_under_test() -> None:
    through, reference = load_scenario(SCENARIO), load_scenario(REFERENCE)
    assert through.target is not None and reference.target is None

    def same(scenario: Scenario) -> Scenario:
        return dataclasses.replace(
            scenario, name="x", description="", target=None, gateway=reference.gateway
        )

    assert same(through) == same(reference)


def test_config_from_the_scenario_names_servers_after_providers() -> None:
    config = make_config()
    upstreams = config.from_scenario(SCENARIO, 8600)
    assert [(u.id, u.port) for u in upstreams] == [("alpha", 8601), ("beta", 8602), ("gamma", 8603)]
    text = config.render(upstreams, port=8600, stats_port=8700, source="x")
    assert "bind 127.0.0.1:8600" in text
    assert "server beta 127.0.0.1:8602 check" in text
    assert "http-response set-header X-Upstream %s" in text
    assert "option httpchk GET /health" in text


def test_config_from_a_lab_json(tmp_path: Path) -> None:
    lab = {
        "providers": [
            {"id": "alpha", "http": "http://127.0.0.1:9101", "ws": "ws://127.0.0.1:9101",
             "port": 9101},
            {"id": "beta", "http": "http://127.0.0.1:9102", "ws": "ws://127.0.0.1:9102",
             "port": 9102},
        ],
        "gateway": None,
        "target": {"kind": "external", "http": "http://127.0.0.1:9100"},
    }  # fmt: skip
    (tmp_path / "lab.json").write_text(json.dumps(lab))
    config = make_config()
    upstreams, port = config.from_lab_json(tmp_path / "lab.json")
    assert [(u.id, u.port) for u in upstreams] == [("alpha", 9101), ("beta", 9102)]
    assert port == 9100  # where the scenario's target says the gateway listens
    lab["target"] = {"kind": "reference", "http": "http://127.0.0.1:9100"}
    (tmp_path / "lab.json").write_text(json.dumps(lab))
    assert config.from_lab_json(tmp_path / "lab.json")[1] is None  # the reference has it


def test_yaml_reader_sees_block_and_flow_providers() -> None:
    config = make_config()
    text = "name: x\nproviders:\n- id: a\n  latency: 5ms\n- {id: b}\n- id: 'c'\nslo: {}\n"
    assert config.yaml_provider_ids(text) == ["a", "b", "c"]
    assert config.yaml_provider_ids("providers: [{id: a}, {id: b}]\n") == ["a", "b"]


def test_the_generated_config_is_valid_for_haproxy(tmp_path: Path) -> None:
    binary = haproxy()
    cfg = tmp_path / "haproxy.cfg"
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "make_config.py"), str(SCENARIO), "--base-port", "8600"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    cfg.write_text(done.stdout)
    check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def free_base_port(span: int = 4) -> int:
    """A base port N with N..N+span and N+100 free on 127.0.0.1 (HAProxy, the providers,
    HAProxy's stats)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + 100 > 65535:
            continue
        if all(_free(port) for port in [*range(base, base + span), base + 100]):
            return base
    pytest.fail("no free run of loopback ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_listening(ports: list[int], alive: subprocess.Popen[str]) -> None:
    """Until every port accepts connections (the replay's lab is up), while ``alive`` runs."""
    deadline = time.monotonic() + 30
    while any(_free(port) for port in ports):
        if alive.poll() is not None or time.monotonic() > deadline:
            return  # the replay's own output says why
        time.sleep(0.05)


def stop(process: subprocess.Popen[str] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def replay_through_haproxy(tmp_path: Path) -> tuple[int, str, int]:
    """Replay the example with HAProxy in front of its lab, as run.sh does: HAProxy starts
    once the providers listen, and stops when the replay ends. Exit code, output, base."""
    binary = haproxy()
    base = free_base_port()
    config = make_config()
    upstreams = config.from_scenario(SCENARIO, base)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(config.render(upstreams, port=base, stats_port=base + 100, source="test"))
    scenario = tmp_path / SCENARIO.name  # HAProxy's /metrics moves with the base port
    text = SCENARIO.read_text()
    assert "http://127.0.0.1:8700/metrics" in text
    scenario.write_text(text.replace(":8700/metrics", f":{base + 100}/metrics"))
    command = [
        sys.executable, "-m", "battletui", "replay", str(scenario),
        "--base-port", str(base),
        "--target", f"http://127.0.0.1:{base}", "--target-ws", f"ws://127.0.0.1:{base}",
        "--sessions", str(tmp_path / "sessions"),
    ]  # fmt: skip
    replay: subprocess.Popen[str] | None = None
    proxy: subprocess.Popen[str] | None = None
    with (tmp_path / "haproxy.log").open("w") as log:
        try:
            replay = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            wait_listening([u.port for u in upstreams], replay)
            proxy = subprocess.Popen(
                [binary, "-db", "-f", str(cfg)], stdout=log, stderr=log, text=True
            )
            output, _ = replay.communicate(timeout=150)
            return replay.returncode, output, base
        finally:
            stop(replay)
            stop(proxy)


def applied(result: dict[str, Any], kind: str, target: str) -> float:
    """The offset of the first applied ``kind target`` action."""
    for action in result["actions"]:
        if action["kind"] == kind and action["target"] == target and action["applied"]:
            return float(action["offset"])
    raise AssertionError(f"no applied {kind} {target} in {result['actions']}")


@pytest.mark.slow
def test_replay_through_a_real_haproxy(tmp_path: Path) -> None:
    code, output, base = replay_through_haproxy(tmp_path)
    assert code in (0, 1, 4), output  # pass, an SLO failed, inconclusive: it ran to the end
    folder = Path(output.strip().splitlines()[-1])
    result = json.loads((folder / "result.json").read_text())
    lab = json.loads((folder / "lab.json").read_text())

    assert result["end_reason"] == "completed", output
    assert result["target"]["kind"] == "external"
    assert result["target"]["http"] == f"http://127.0.0.1:{base}"
    assert [p["port"] for p in lab["providers"]] == [base + 1, base + 2, base + 3]

    # The killed provider received nothing while it was down (a second of margin each side
    # for the per-second counts), the others took its share, and HAProxy brought it back.
    killed, restored = applied(result, "kill", "alpha"), applied(result, "restore", "alpha")
    series = {int(s["t"]): s["received"] for s in result["series"]}
    down = [t for t in series if killed + 1 <= t and t + 1 <= restored - 0.5]
    assert len(down) >= 5
    assert all(series[t]["alpha"] == 0 for t in down), [series[t] for t in down]
    assert all(series[t]["beta"] + series[t]["gamma"] > 0 for t in down)
    assert sum(series[t]["alpha"] for t in series if t < killed - 1) > 0
    assert sum(series[t]["alpha"] for t in series if t > restored + 2) > 0

    # HAProxy's own metrics (preset haproxy) showed alpha's server DOWN while it was killed,
    # as an OPEN breaker, and UP again after the restore.
    assert "prometheus haproxy" in result["target"]["observers"]
    moves = result["providers"]["alpha"]["transitions"]
    opened = [m for m in moves if m["to"] == "OPEN" and killed <= m["offset"] <= restored]
    assert opened and "DOWN" in opened[0]["reason"], moves
    assert any(m["to"] == "CLOSED" and m["offset"] > restored for m in moves), moves

    # HAProxy does not look inside an HTTP 200: beta's JSON-RPC errors reached the users.
    assert result["http"]["errors"].get("rpc_error", 0) > 0, result["http"]["errors"]
    assert result["http"]["success_rate"] < 1.0
    # ... while the answers it can judge (beta's HTTP 503s, some 100) it retried elsewhere.
    assert result["http"]["errors"].get("http_503", 0) < 10, result["http"]["errors"]
