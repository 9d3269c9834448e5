"""The HTTP load sent by several worker processes adds up to one schedule, measured once.

Merging is checked against a single ``HttpMetrics`` fed every request (the same numbers,
histograms included); the schedule split against one generator's schedule; the processes
end to end through ``LoadWorkers`` against a real server, and through a session whose
worker is killed.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from conftest import small_scenario
from helpers.waiting import wait_until

from battletui.engine import Session
from battletui.engine.load_workers import LoadWorkers, auto_workers
from battletui.metrics import HttpMetrics, IntervalRecord, MergedHttpMetrics, RequestResult
from battletui.metrics.interval_codec import merge_records, record_from_json, record_to_json
from battletui.metrics.latency import LatencyStats
from battletui.scenario import HttpLoadSpec
from battletui.workload import HttpLoad


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def result(at: float, latency: float, *, ok: bool = True, upstream: str = "alpha") -> RequestResult:
    return RequestResult(
        method="eth_blockNumber",
        intended=at,
        sent=at + 0.0001,
        done=at + latency,
        ok=ok,
        error_kind=None if ok else "http_503",
        upstream=upstream,
    )


def test_records_round_trip_and_merge_into_exactly_one_processs_figures() -> None:
    clock = Clock()
    draw = random.Random(3)
    whole_records: list[IntervalRecord] = []
    parts: list[list[IntervalRecord]] = [[], []]
    whole = HttpMetrics(clock, start=clock.now, on_interval=whole_records.append)
    halves = [HttpMetrics(clock, start=clock.now, on_interval=parts[n].append) for n in range(2)]
    results = [
        (step % 2, result(1000.0 + step / 1000, draw.uniform(0.001, 0.2),
                          ok=draw.random() > 0.05, upstream=draw.choice(["alpha", "beta"])))
        for step in range(3000)
    ]  # fmt: skip
    for half, one in sorted(results, key=lambda pair: pair[1].done):  # as answers arrive
        clock.now = one.done
        for metrics in (whole, halves[half]):
            metrics.record(one)
    clock.now = 1003.5
    for metrics in (whole, *halves):
        metrics.flush()
    assert len(whole_records) == 4 and all(len(p) == 4 for p in parts)
    for second, expected in enumerate(whole_records):
        shipped = [record_from_json(record_to_json(p[second])) for p in parts]
        merged = merge_records(shipped)
        assert (merged.requests, merged.ok, merged.errors, merged.upstreams) == (
            expected.requests,
            expected.ok,
            expected.errors,
            expected.upstreams,
        )
        assert (merged.due, merged.sent) == (expected.due, expected.sent)
        assert list(merged.corrected.counts) == list(expected.corrected.counts)
        assert list(merged.uncorrected.counts) == list(expected.uncorrected.counts)
        assert LatencyStats.of(merged.corrected) == LatencyStats.of(expected.corrected)


def test_a_second_is_complete_once_every_worker_has_sent_it_or_a_later_one() -> None:
    clock = Clock()
    handled: list[IntervalRecord] = []
    merged = MergedHttpMetrics(clock, workers=2, start=clock.now, on_interval=handled.append)
    sources = [HttpMetrics(clock, start=clock.now) for _ in range(2)]
    records: list[list[IntervalRecord]] = [[], []]
    for n, source in enumerate(sources):
        source._on_interval = records[n].append
    for step in range(2500):  # 2.5 s, worker 1 twice as busy
        clock.now = 1000.0 + step / 1000
        for n in (0, 1) if step % 3 else (1,):
            sources[n].scheduled(clock.now)
            sources[n].record(result(clock.now, 0.002))
    for n, source in enumerate(sources):
        for live in source.live_seconds(count=3):
            merged.live(n, live)
    assert [r.index for r in records[0]] == [0, 1]
    merged.closed(0, records[0][0])
    assert handled == [], "worker 1 has not said second 0 yet"
    assert merged.requests == sum(s.requests for s in sources), "live figures count meanwhile"
    merged.closed(1, records[1][0])
    assert [r.index for r in handled] == [0]
    assert handled[0].requests == records[0][0].requests + records[1][0].requests
    merged.closed(1, records[1][1])
    merged.closed(0, records[0][1])
    assert [r.index for r in handled] == [0, 1]
    assert merged.requests == sum(s.requests for s in sources), "each second counted once"
    window = merged.window()
    assert window.requests == sum(s.requests for s in sources)
    assert window.upstream_share == {"alpha": 1.0}
    for source in sources:
        source.flush()
    for n in (0, 1):
        merged.closed(n, records[n][-1])
    merged.flush()
    assert [r.index for r in handled] == [0, 1, 2]
    assert sum(r.requests for r in handled) == sum(s.requests for s in sources)
    assert merged.total_latency().count == sum(s.requests for s in sources)


def test_no_worker_means_every_passed_second_is_complete_and_empty() -> None:
    clock = Clock()
    handled: list[IntervalRecord] = []
    merged = MergedHttpMetrics(clock, workers=0, start=clock.now, on_interval=handled.append)
    clock.now += 3.2
    merged.tick()
    assert [(r.index, r.requests) for r in handled] == [(0, 0), (1, 0), (2, 0)]
    merged.flush()
    assert [r.index for r in handled] == [0, 1, 2, 3]


def test_auto_is_half_the_cores() -> None:
    assert [auto_workers(n) for n in (1, 2, 3, 4, 8, 64)] == [1, 1, 1, 2, 4, 8]


# -- real sockets --------------------------------------------------------------------------


@pytest.fixture
async def node() -> AsyncIterator[str]:
    async def rpc(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"jsonrpc": "2.0", "id": 1, "result": "0x10"},
                                 headers={"X-Upstream": "alpha"})  # fmt: skip

    app = web.Application()
    app.router.add_post("/", rpc)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    await runner.cleanup()


class Intended(HttpMetrics):
    """Keeps every intended send time (a test may hold a list: it is short)."""

    def __init__(self) -> None:
        super().__init__(time.monotonic)
        self.times: list[float] = []

    def scheduled(self, intended: float) -> None:
        self.times.append(intended)


async def test_shares_of_a_schedule_send_exactly_its_slots(node: str) -> None:
    spec = HttpLoadSpec(rate=300)
    alone, first, second = Intended(), Intended(), Intended()
    origin = time.monotonic() + 0.05
    loads = [
        HttpLoad(node, spec, alone),
        HttpLoad(node, spec, first, share=(0, 2)),
        HttpLoad(node, spec, second, share=(1, 2)),
    ]
    for load in loads:
        await load.start(origin=origin)
    await asyncio.sleep(0.6)
    for load in loads:
        await load.stop(drain=0.5)
    together = sorted(first.times + second.times)
    count = min(len(alone.times), len(together)) - 2
    assert count > 100
    assert together[:count] == pytest.approx(alone.times[:count], abs=1e-9)
    assert abs(len(first.times) - len(second.times)) <= 1


async def test_two_worker_processes_send_one_schedule_and_count_it_once(
    node: str, tmp_path: Path
) -> None:
    handled: list[IntervalRecord] = []
    workers = LoadWorkers(
        node, HttpLoadSpec(rate=200), seed=1, count=2, upstream_header="X-Upstream",
        upstream_names={}, log=tmp_path / "workers.log",
    )  # fmt: skip
    await workers.spawn()
    try:
        metrics = MergedHttpMetrics(
            time.monotonic, workers=2, start=time.monotonic(), on_interval=handled.append
        )
        workers.start(metrics)
        await wait_until(lambda: len(handled) >= 2, timeout=10, what="two complete seconds")
        assert 180 <= handled[0].requests <= 201 and handled[0].upstreams["alpha"] > 0
        assert metrics.window().rate > 100, "live figures reach the engine"
        workers.set_rate(0.0)
        await workers.stop(drain=1.0)
    finally:
        await workers.close()
    assert all(not os.path.exists(f"/proc/{pid}/status") or _zombie(pid) for pid in workers.pids)
    assert workers.sent == sum(r.sent for r in handled)
    assert sum(r.ok for r in handled) == sum(r.requests for r in handled)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return any(line.startswith("State:\tZ") for line in status)
    except OSError:
        return True


async def test_a_dead_worker_ends_the_session_which_is_still_written(tmp_path: Path) -> None:
    session = Session(small_scenario(rate=40, workers=2, duration=30), sessions_root=tmp_path)
    await session.start()
    assert session._load is not None
    victim = session._load.pids[1]
    os.kill(victim, signal.SIGKILL)
    folder = await asyncio.wait_for(session.wait_finished(), 15)
    assert session.end_reason == "load worker exited"
    assert (folder / "report.md").is_file() and (folder / "result.json").is_file()
