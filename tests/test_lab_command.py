"""``battletui lab`` as a user runs it: a session without load, in its own process, that prints
where its servers listen, writes lab.json, runs the timeline past ``duration``, takes
``battletui ctl`` actions, and on SIGINT / SIGTERM writes its folder and leaves nothing."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from helpers.cli import battletui
from helpers.orphans import children_of, wait_all_gone
from helpers.ports import free_base_port

from battletui.control.files import CONTROL_NAME, read_control
from battletui.scenario import load_scenario

SCENARIO = """\
name: lab-test
duration: 1s
providers:
  - {id: alpha, latency: 5ms}
  - {id: beta, latency: 10ms}
  - {id: gamma, latency: 20ms}
slo: {success_rate: 0.99}
timeline:
  - {at: 0.2s, degrade: gamma, latency: 50ms}
"""


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        for child in children_of(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


def second_in_journal(journal: Path, index: int, timeout: float = 15.0) -> None:
    """Until the session has journaled second ``index`` (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the line being written
            if entry.get("type") == "interval" and entry["index"] >= index:
                return
        time.sleep(0.1)
    raise AssertionError(f"second {index} never reached {journal}")


def start_lab(tmp_path: Path, text: str, base: int) -> subprocess.Popen[str]:
    (tmp_path / "lab.yaml").write_text(text)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "battletui",
            "lab",
            "lab.yaml",
            "--base-port",
            str(base),
            "--sessions",
            "runs",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_lines(process: subprocess.Popen[str], count: int) -> list[list[str]]:
    assert process.stdout is not None
    lines = [process.stdout.readline().split() for _ in range(count)]
    if not all(lines):
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"battletui lab printed {lines}; stderr: {err}")
    return lines


def test_lab_is_a_session_ctl_can_drive_and_sigint_writes(tmp_path: Path) -> None:
    base = free_base_port(4)
    process = start_lab(tmp_path, SCENARIO, base)
    try:
        lines = read_lines(process, 4)
        assert [line[0] for line in lines] == ["gateway", "alpha", "beta", "gamma"]
        ports = [int(line[1].rsplit(":", 1)[1]) for line in lines]
        assert ports == [base, base + 1, base + 2, base + 3]
        (folder,) = (tmp_path / "runs").iterdir()
        lab = json.loads((folder / "lab.json").read_text())
        assert [(p["id"], p["http"], p["ws"]) for p in lab["providers"]] == [
            tuple(line) for line in lines[1:]
        ]
        assert lab["gateway"] == {"http": lines[0][1], "ws": lines[0][2]}
        assert lab["target"]["kind"] == "reference"
        assert (folder / CONTROL_NAME).is_file()

        url, token = read_control(folder)
        snapshot = httpx.get(
            f"{url}/snapshot", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        assert snapshot["load"] is False  # the top line says "lab", no duration, no verdict
        assert snapshot["share_source"] == "received"  # no answers of ours carry a header

        done = battletui("ctl", "kill", "alpha", "--sessions", "runs", cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "kill alpha" in done.stdout
        second_in_journal(folder / "journal.jsonl", 2)
        assert process.poll() is None  # past its 1 s duration, still running
        pids = [process.pid, *descendants(process.pid)]
        assert len(pids) >= 3  # itself, the lab, the gateway
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.strip().splitlines()[-1] == str(Path("runs") / folder.name)
    assert wait_all_gone(pids, ports) == []
    result = json.loads((folder / "result.json").read_text())
    assert result["end_reason"] == "stopped"
    assert sorted((a["kind"], a["source"], a["applied"]) for a in result["actions"]) == [
        ("degrade", "timeline", True),
        ("kill", "api", True),
    ]
    assert result["slos"] == []  # no load, nothing to judge
    assert result["load"] is False and result["verdict"] == "none"
    assert result["target"]["kind"] == "reference"
    report = (folder / "report.md").read_text()
    assert "**Lab session: nothing judged**" in report and "PASS" not in report
    assert "## Latency" not in report and "## Received per second" in report
    assert not (folder / CONTROL_NAME).exists()

    # The recording keeps the file's load and SLOs, with the api's kill where it happened:
    # replaying it puts load on what was found by hand.
    recorded = load_scenario(folder / "scenario.yaml")
    assert recorded.slo.success_rate == 0.99
    assert recorded.workload.http.rate == load_scenario(tmp_path / "lab.yaml").workload.http.rate
    assert recorded.workload.http.rate > 0
    assert [(e.action.kind, e.action.target) for e in recorded.timeline] == [
        ("degrade", "gamma"),
        ("kill", "alpha"),
    ]
    assert recorded.duration >= 2.0  # as long as it ran, not the file's 1 s

    # Rebuilt from the journal alone (battletui report), the same.
    (folder / "result.json").unlink()
    rebuilt = battletui("report", str(Path("runs") / folder.name), cwd=tmp_path, timeout=60)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert json.loads((folder / "result.json").read_text())["verdict"] == "none"


def test_lab_with_a_target_runs_no_gateway_and_ends_on_sigterm(tmp_path: Path) -> None:
    base = free_base_port(4)
    text = SCENARIO + f"target: {{http: 'http://127.0.0.1:{base}'}}\n"
    process = start_lab(tmp_path, text, base)
    try:
        lines = read_lines(process, 3)
        assert [line[0] for line in lines] == ["alpha", "beta", "gamma"]
        ports = [int(line[1].rsplit(":", 1)[1]) for line in lines]
        assert ports == [base + 1, base + 2, base + 3]
        (folder,) = (tmp_path / "runs").iterdir()
        lab = json.loads((folder / "lab.json").read_text())
        assert lab["gateway"] is None
        assert lab["target"]["http"] == f"http://127.0.0.1:{base}"
        pids = [process.pid, *descendants(process.pid)]
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert wait_all_gone(pids, ports) == []
    result = json.loads((folder / "result.json").read_text())
    assert result["target"]["kind"] == "external" and result["end_reason"] == "stopped"


def entry_in_journal(journal: Path, kind: str, timeout: float = 20.0) -> dict[str, object]:
    """The first journal entry of ``type`` ``kind`` (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the line being written
            if entry.get("type") == kind:
                return dict(entry)
        time.sleep(0.1)
    raise AssertionError(f"no {kind!r} entry in {journal}")


def test_lab_starts_before_its_gateway_and_observes_it_once_it_answers(tmp_path: Path) -> None:
    """The gateway is configured from what the lab prints, so it comes up after the lab:
    the lab does not wait for its metrics, and reads them once they answer."""
    from prometheus_client import CollectorRegistry, Gauge
    from prometheus_client.exposition import start_http_server

    base = free_base_port(4)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    text = SCENARIO + (
        f"target:\n  http: 'http://127.0.0.1:{base}'\n  observe:\n    prometheus:\n"
        f"      url: 'http://127.0.0.1:{metrics_port}/metrics'\n      preset: haproxy\n"
    )
    process = start_lab(tmp_path, text, base)
    server = None
    try:
        lines = read_lines(process, 3)  # printed with nothing answering at metrics_port
        assert [line[0] for line in lines] == ["alpha", "beta", "gamma"]
        (folder,) = (tmp_path / "runs").iterdir()
        second_in_journal(folder / "journal.jsonl", 1)

        registry = CollectorRegistry()
        status = Gauge("haproxy_server_status", "", ["proxy", "server", "state"], registry=registry)
        for server_name in ("alpha", "beta", "gamma"):
            status.labels("providers", server_name, "UP").set(1)
            status.labels("providers", server_name, "DOWN").set(0)
        server, _thread = start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
        second_in_journal(folder / "journal.jsonl", 3)  # scraped at least once since
        status.labels("providers", "beta", "UP").set(0)
        status.labels("providers", "beta", "DOWN").set(1)
        entry = entry_in_journal(folder / "journal.jsonl", "breaker")
        assert (entry["provider"], entry["from"], entry["to"]) == ("beta", "CLOSED", "OPEN")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err


def test_lab_port_taken_is_one_line_exit_3(tmp_path: Path) -> None:
    import socket

    base = free_base_port(4)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", base + 2))
        taken.listen()
        (tmp_path / "lab.yaml").write_text(SCENARIO)
        done = battletui(
            "lab",
            "lab.yaml",
            "--base-port",
            str(base),
            "--sessions",
            "runs",
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 3, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("battletui: ")
