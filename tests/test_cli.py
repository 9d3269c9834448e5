"""The ``battletui`` command as a user runs it: subprocesses, exit codes, last lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers.cli import SCENARIOS, battletui, judged, last_line

from battletui.report.markdown import VERDICT_ICONS


def test_validate_accepts_every_bundled_scenario(tmp_path: Path) -> None:
    files = sorted(str(p) for p in SCENARIOS.iterdir() if p.suffix in (".yaml", ".toml"))
    assert len(files) >= 4
    done = battletui("validate", *files, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": ok ·") == len(files)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: x\nduration: 10s\nproviders: [{id: alpha}]\n"
            "timeline:\n  - {at: 1s, kill: alfa}\n",
            "bad.yaml:5: timeline[0].kill: unknown provider 'alfa' (known: alpha)",
        ),
        ("name: x\nduration: -3s\nproviders: [{id: alpha}]\n", "bad.yaml:2: duration:"),
        ("name: x\nduration: 10s\nproviders: [{id: alpha}\n", "bad.yaml:"),
    ],
)
def test_validate_bad_file_is_one_line_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    done = battletui("validate", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in done.stderr


def test_replay_a_broken_scenario_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "x"\nduration = "10s"\nseed = "abc"\n')
    done = battletui("replay", "bad.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.toml:3: seed:" in done.stderr
    assert "Traceback" not in done.stderr


def test_ci_scenario_replays_green_and_writes_its_session(tmp_path: Path) -> None:
    """The 15-second CI scenario, through the real command, exactly as CI would run it."""
    done = battletui("replay", str(SCENARIOS / "ci-smoke.toml"), cwd=tmp_path)
    result = judged(done, 0, cwd=tmp_path)
    folder = Path(tmp_path / last_line(done))
    assert folder.is_dir() and folder.parent == tmp_path / "sessions"
    assert [a["kind"] for a in result["actions"]] == ["kill", "flap", "restore", "restore"]
    assert all(a["applied"] for a in result["actions"])
    assert (folder / "scenario.toml").is_file()
    assert f"Verdict: {VERDICT_ICONS[result['verdict']]}" in (folder / "report.md").read_text()
    assert "[00:05/00:15]" in done.stdout  # progress was printed while it ran


def test_replay_exits_1_when_an_slo_fails(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text(
        "name: strict\nduration: 2s\nproviders: [{id: alpha, latency: 30ms}]\n"
        "workload: {http: {rate: 20}}\nslo: {p50: 1ms}\n"
    )
    done = battletui("replay", "strict.yaml", cwd=tmp_path)
    result = judged(done, 1, cwd=tmp_path)
    assert result["slos"][0]["passed"] is False and result["slos"][0]["actual"] > 25
    assert ("FAIL" if done.returncode == 1 else "INCONCLUSIVE") in done.stdout


def test_interrupted_replay_still_leaves_a_replayable_session(tmp_path: Path) -> None:
    (tmp_path / "long.yaml").write_text(
        "name: long\nduration: 60s\nproviders: [{id: alpha}, {id: beta}]\n"
        "workload: {http: {rate: 30}}\ntimeline:\n  - {at: 1s, kill: alpha}\n"
        "  - {at: 50s, restore: alpha}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "battletui", "replay", "long.yaml"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        journal: Path | None = None
        while time.monotonic() < deadline:
            found = list((tmp_path / "sessions").glob("*/journal.jsonl"))
            if found and '"kind":"kill"' in found[0].read_text():
                journal = found[0]
                break
            time.sleep(0.05)
        assert journal is not None, "the kill was never journaled"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, out + err
    folder = journal.parent
    assert out.strip().splitlines()[-1].endswith(folder.name)
    assert '"type":"end"' in journal.read_text()
    assert json.loads((folder / "result.json").read_text())["end_reason"] == "interrupted"
    check = battletui("validate", str(folder / "scenario.yaml"), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    again = battletui("replay", str(folder / "scenario.yaml"), cwd=tmp_path)
    replayed = judged(again, 0, cwd=tmp_path)
    assert [a["kind"] for a in replayed["actions"]] == ["kill"]


def test_lab_prints_http_and_ws_urls_that_answer_json_rpc(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "battletui", "lab", str(SCENARIOS / "failover.yaml")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().split() for _ in range(4)]
        ids = [line[0] for line in lines]
        assert ids == ["gateway", "alpha", "beta", "gamma"]
        for _, url, ws_url in lines:
            assert url.startswith("http://127.0.0.1:")
            assert ws_url == url.replace("http://", "ws://")
            answer = httpx.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                timeout=5,
            )
            assert answer.json()["result"] == "0x1"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0


def test_headless_path_never_imports_textual(tmp_path: Path) -> None:
    """Replay in a fresh interpreter, then prove Textual was never loaded."""
    (tmp_path / "tiny.yaml").write_text(
        "name: tiny\nduration: 1s\nproviders: [{id: alpha}]\nworkload: {http: {rate: 10}}\n"
    )
    code = (
        "import sys\n"
        "from battletui.commands.main import main\n"
        "status = main(['replay', 'tiny.yaml'])\n"
        "assert status in (0, 4), status  # 4: a busy machine, said so; imports are the point\n"
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "assert not loaded, loaded\n"
        "assert 'battletui.ui' not in sys.modules\n"
        "print('clean')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("clean")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("run", "scenarios"), "battletui: scenarios: is a directory, not a scenario file"),
        (("run", "nope.yaml"), "battletui: nope.yaml: no such file"),
        (("replay", "nope.toml"), "battletui: nope.toml: no such file"),
        (("validate", "nope.yaml"), "nope.yaml: no such file"),
    ],
)
def test_a_path_that_is_no_scenario_file_is_one_plain_line(
    tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    (tmp_path / "scenarios").mkdir()
    done = battletui(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [line + done.stderr.strip()[len(line) :]]
    assert done.stderr.startswith(line) and ":0:" not in done.stderr, done.stderr


def test_every_command_says_what_it_does_and_only_replay_and_report_name_a_baseline(
    tmp_path: Path,
) -> None:
    for command in ("run", "replay", "validate", "report", "attach", "ctl", "lab"):
        done = battletui(command, "--help", cwd=tmp_path)
        assert done.returncode == 0, command
        _usage, _, rest = done.stdout.partition("\n\n")
        assert rest.strip() and not rest.startswith("positional arguments"), (command, rest)
        says_baseline = "with --baseline, a figure regressed" in done.stdout
        assert says_baseline == (command in ("replay", "report")), command
