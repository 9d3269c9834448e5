"""Same scenario, same seed: same chain, same fault schedule, same random choices.

Two replays then differ only by real timing noise.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from conftest import small_scenario

from battletui.chain import MockChain
from battletui.engine import Session
from battletui.scenario import Action, ChainSpec, TimelineEntry
from battletui.workload.requests import RequestFactory

MIX = {"eth_blockNumber": 50, "eth_getBlockByNumber": 30, "eth_getLogs": 20}


def methods(seed: int, count: int = 200) -> list[str]:
    factory = RequestFactory(MIX, seed)
    return [factory.next()[0] for _ in range(count)]


def test_the_request_mix_is_a_function_of_the_seed() -> None:
    assert methods(7) == methods(7)
    assert methods(7) != methods(8)


def test_the_chain_is_a_function_of_the_seed_and_its_reorgs() -> None:
    def hashes(seed: int) -> list[str]:
        now = [0.0]
        chain = MockChain(seed, 1, 1.0, clock=lambda: now[0])
        now[0] = 20.0
        chain.reorg(3)
        now[0] = 30.0
        return [chain.block(n).hash for n in range(1000, 1030)]  # type: ignore[union-attr]

    assert hashes(5) == hashes(5)
    assert hashes(5) != hashes(6)


async def test_two_replays_record_the_same_session_up_to_timing(tmp_path: Path) -> None:
    scenario = dataclasses.replace(
        small_scenario(duration=3.0, rate=30),
        chain=ChainSpec(id=1, block_time=0.5),
        timeline=(
            TimelineEntry(0.5, Action("kill", "alpha")),
            TimelineEntry(1.0, Action("reorg", None, {"depth": 2})),
            TimelineEntry(1.5, Action("restore", "alpha")),
            TimelineEntry(2.0, Action("strategy", None, {"name": "round-robin"})),
        ),
    )
    results = []
    for run in ("first", "second"):
        session = Session(scenario, sessions_root=tmp_path / run)
        await session.start()
        folder = await session.wait_finished()
        results.append(json.loads((folder / "result.json").read_text()))
    first, second = results

    def schedule(result: dict) -> list[tuple]:  # type: ignore[type-arg]
        return [(a["kind"], a["target"], json.dumps(a["params"])) for a in result["actions"]]

    assert schedule(first) == schedule(second)
    for a, b in zip(first["actions"], second["actions"], strict=True):
        assert a["applied"] and b["applied"]
        assert abs(a["offset"] - b["offset"]) < 0.05
    assert first["seed"] == second["seed"]
    assert abs(first["http"]["requests"] - second["http"]["requests"]) <= 3  # timing noise
