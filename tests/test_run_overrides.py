"""Open-ended sessions (``duration: 0``) and ``--duration`` / ``--rate`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import small_scenario
from helpers.cli import SCENARIOS, battletui, judged
from helpers.waiting import wait_until

from battletui.engine import Session
from battletui.scenario import ScenarioError, load_scenario, loads_scenario, override_run

HEAD = "name: t\nproviders: [{id: alpha}]\n"


def test_duration_0_is_open_ended_and_takes_a_timeline_at_any_offset() -> None:
    scenario = loads_scenario(
        HEAD + "duration: 0\ntimeline:\n  - {at: 2h, kill: alpha}\n", path="t.yaml", fmt="yaml"
    )
    assert scenario.open_ended and scenario.timeline[0].at == 7200


def test_a_duration_under_a_second_names_its_line() -> None:
    with pytest.raises(ScenarioError) as caught:
        loads_scenario(HEAD + "duration: 500ms\n", path="t.yaml", fmt="yaml")
    assert str(caught.value) == (
        "t.yaml:3: duration: must be 0 (run until quit) or at least 1s, got '500ms'"
    )


@pytest.mark.parametrize(
    ("duration", "rate", "says"),
    [
        ("soon", None, "--duration: expected a duration"),
        ("1ms", None, "--duration: must be 0 (run until quit) or at least 1s"),
        ("5s", None, "--duration: the timeline has an action at 8s, after 5s"),
        (None, "fast", "--rate: expected requests per second or max, got 'fast'"),
        (None, "0", "--rate: must be more than 0 (or max)"),
        (None, "1e9", "--rate: must be between 0 and 200000"),
    ],
)
def test_bad_overrides_are_one_line_naming_the_option(
    duration: str | None, rate: str | None, says: str
) -> None:
    with pytest.raises(ValueError) as caught:
        override_run(load_scenario(SCENARIOS / "failover.yaml"), duration, rate)
    assert str(caught.value).startswith(says), caught.value


def test_overrides_replace_the_files_values() -> None:
    demo = load_scenario(SCENARIOS / "demo.yaml")
    assert demo.open_ended  # the bundled demo runs until quit
    bounded = override_run(demo, "90s", "300")
    assert (bounded.duration, bounded.workload.http.rate) == (90, 300)
    assert override_run(demo, None, "max").workload.http.closed
    assert override_run(bounded, "0", None).open_ended


async def test_an_open_ended_session_runs_until_quit_and_records_how_long_it_ran(
    tmp_path: Path,
) -> None:
    session = Session(small_scenario(duration=0, rate=20), sessions_root=tmp_path)
    await session.start()
    try:
        await wait_until(lambda: session.elapsed > 1.5, what="past the first second")
        assert session.phase == "running"
        assert session.snapshot().duration == 0
    finally:
        folder = await session.finish("quit")
    recorded = load_scenario(folder / "scenario.yaml")
    assert 1.5 < recorded.duration < 10  # a replay runs as long as the session did
    assert json.loads((folder / "result.json").read_text())["end_reason"] == "quit"


def test_replay_refuses_an_open_ended_file_and_takes_duration_and_rate(tmp_path: Path) -> None:
    refused = battletui("replay", str(SCENARIOS / "demo.yaml"), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"battletui: {SCENARIOS / 'demo.yaml'}: duration: 0 runs until quit; give --duration "
        "to replay it headless (or watch it with --ui)"
    ]
    done = battletui(
        "replay", str(SCENARIOS / "demo.yaml"), "--duration", "2s", "--rate", "40", cwd=tmp_path
    )
    result = judged(done, 0, 1, cwd=tmp_path)
    assert 2.0 <= result["duration_s"] < 3.0
    assert result["http"]["target_rate"] == 40
