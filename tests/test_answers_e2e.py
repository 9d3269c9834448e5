"""Answers judged in real sessions: a lag the gateway does not route around reaches users as
stale answers, one it handles does not; a gateway that caches blocks across a reorg serves
wrong ones, and the checker, fed by the lab's truth feed, says so."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from conftest import small_scenario
from helpers.ports import free_base_port
from helpers.verdicts import assert_verdict

from battletui.engine import Session
from battletui.scenario import (
    MIX_PRESETS,
    Action,
    ChainSpec,
    SloSpec,
    TargetSpec,
    TimelineEntry,
    WorkloadSpec,
    WsLoadSpec,
)


def _mix(preset: str, rate: float, block_time: float = 0.25, duration: float = 7) -> Any:
    base = small_scenario(duration=duration, rate=rate)
    http = dataclasses.replace(base.workload.http, mix=MIX_PRESETS[preset], preset=preset)
    return dataclasses.replace(
        base,
        chain=ChainSpec(id=1, block_time=block_time),
        workload=WorkloadSpec(http=http, ws=WsLoadSpec(subscribers=1)),
        slo=SloSpec(stale_rate=0.0, wrong_answers=0),
    )


async def _result(scenario: Any, root: Path) -> dict[str, Any]:
    session = Session(scenario, sessions_root=root)
    await session.start()
    folder = await asyncio.wait_for(session.wait_finished(), 60)
    result: dict[str, Any] = json.loads((folder / "result.json").read_text())
    return result


@pytest.mark.parametrize("handled", [True, False])
async def test_a_lag_shows_as_stale_answers_unless_the_gateway_routes_around_it(
    tmp_path: Path, handled: bool
) -> None:
    # One block a second: the gateway probes every 0.5 s, so it finds alpha 2 blocks behind
    # well before an answer could be 3 behind (stale); unhandled, alpha ends 6 blocks behind.
    base = _mix("dapp", 80, block_time=1.0, duration=8)
    scenario = dataclasses.replace(
        base,
        gateway=dataclasses.replace(base.gateway, lag_blocks=1 if handled else 10_000),
        timeline=(TimelineEntry(2.0, Action("lag", "alpha", {})),),
    )
    result = await _result(scenario, tmp_path)
    answers = result["http"]["answers"]
    assert answers["checked"] > 300 and answers["wrong"] == 0
    if handled:
        assert answers["stale"] == 0, answers
        assert_verdict(result, "pass")
    else:
        assert answers["stale"] > 20, answers
        assert answers["by_upstream"]["alpha"]["stale"] == answers["stale"] - answers[
            "by_method"
        ].get("newHeads", {}).get("stale", 0)
        assert_verdict(result, "fail")
        (stale_slo,) = [s for s in result["slos"] if s["name"] == "stale_rate"]
        assert stale_slo["passed"] is False and stale_slo["actual"] > 0


class CachingProxy:
    """A gateway with a bug: it caches blocks by number forever, reorgs or not."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.cache: dict[str, bytes] = {}
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        self.http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        await self.http.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        message = json.loads(body)
        key = None
        if isinstance(message, dict) and message.get("method") == "eth_getBlockByNumber":
            params = message.get("params") or []
            if params and params[0] != "latest":
                key = json.dumps(params)
        if key is not None and key in self.cache:
            cached = json.loads(self.cache[key])
            cached["id"] = message.get("id")
            return web.json_response(cached, headers={"X-Upstream": "alpha"})
        async with self.http.post(self.upstream, data=body) as upstream:
            answer = await upstream.read()
        if key is not None and b'"result":{' in answer:
            self.cache[key] = answer
        return web.Response(
            body=answer, content_type="application/json", headers={"X-Upstream": "alpha"}
        )


async def test_a_gateway_that_caches_replaced_blocks_serves_wrong_answers(tmp_path: Path) -> None:
    base = _mix("indexer", 60)
    port = free_base_port()
    proxy = CachingProxy(f"http://127.0.0.1:{port + 1}")
    await proxy.start()
    try:
        scenario = dataclasses.replace(
            base,
            providers=base.providers[:1],
            target=TargetSpec(http=f"http://127.0.0.1:{proxy.port}"),
            workload=dataclasses.replace(base.workload, ws=WsLoadSpec(subscribers=0)),
            timeline=(
                TimelineEntry(2.5, Action("reorg", None, {"depth": 6})),
                TimelineEntry(4.5, Action("reorg", None, {"depth": 6})),
            ),
        )
        session = Session(scenario, sessions_root=tmp_path, base_port=port)
        await session.start()
        folder = await asyncio.wait_for(session.wait_finished(), 60)
    finally:
        await proxy.stop()
    result = json.loads((folder / "result.json").read_text())
    answers = result["http"]["answers"]
    assert answers["wrong"] > 0, answers
    assert answers["by_method"]["eth_getBlockByNumber"]["wrong"] > 0
    assert_verdict(result, "fail")
    report = (folder / "report.md").read_text()
    assert "## Answers checked against the chain" in report and "wrong" in report
