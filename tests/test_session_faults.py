"""The full fault palette through a real session: each action applied, verified, journaled."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import small_scenario
from helpers.waiting import wait_until

from battletui.engine import Session
from battletui.metrics import ProviderView, WsView
from battletui.scenario import Action, ChainSpec, ParamValue, Scenario, WorkloadSpec, WsLoadSpec


def fast_chain_scenario(subscribers: int = 0) -> Scenario:
    base = small_scenario(duration=60, rate=30)
    return dataclasses.replace(
        base,
        chain=ChainSpec(id=1, block_time=0.3),
        workload=WorkloadSpec(http=base.workload.http, ws=WsLoadSpec(subscribers=subscribers)),
    )


def view(session: Session, provider: str) -> ProviderView:
    return next(p for p in session.snapshot().providers if p.id == provider)


def ws_view(session: Session) -> WsView:
    """The session's WebSocket view; its scenario has subscribers, so there is one."""
    ws = session.ws_view()
    assert ws is not None
    return ws


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    running = Session(fast_chain_scenario(subscribers=2), sessions_root=tmp_path)
    await running.start()
    await wait_until(
        lambda: running.metrics is not None and running.metrics.requests > 10, what="traffic"
    )
    yield running
    if running.phase != "ended":
        await running.finish("quit")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rate": 1.0, "kind": "server-error"}, "HTTP 503"),
        ({"rate": 1.0, "kind": "rate-limit", "retry_after": 2.0}, "HTTP 429 Retry-After 2"),
        ({"rate": 1.0, "kind": "rpc-error", "code": -32000}, "HTTP 200"),
    ],
)
async def test_errors_are_verified_by_seeing_one(
    session: Session, params: dict[str, ParamValue], expected: str
) -> None:
    full: dict[str, ParamValue] = {
        "rate": 0.0,
        "kind": "server-error",
        "code": -32603,
        "retry_after": 1.0,
        **params,
    }
    outcome = await session.apply(Action("errors", "alpha", full))
    assert outcome.applied, outcome.error
    assert expected in outcome.detail
    assert view(session, "alpha").error_rate == 1.0
    assert any(w.startswith("errors 100%") for w in view(session, "alpha").faults)
    cleared = await session.apply(Action("errors", "alpha", {**full, "rate": 0.0}))
    assert cleared.applied and view(session, "alpha").error_rate == 0.0


async def test_server_errors_fail_over_and_are_reported(session: Session) -> None:
    before = session.failover_log.count
    full: dict[str, ParamValue] = {
        "rate": 1.0,
        "kind": "server-error",
        "code": -32603,
        "retry_after": 1.0,
    }
    assert (await session.apply(Action("errors", "alpha", full))).applied
    await wait_until(lambda: session.failover_log.count > before, what="a failover")
    await wait_until(
        lambda: any("failover" in e.text and "alpha" in e.text for e in session.events.recent()),
        what="the failover line in the event log",
    )
    assert view(session, "alpha").failovers_from > 0
    assert session.metrics is not None and session.metrics.errors == {}  # clients never saw one


async def test_hang_then_restore(session: Session) -> None:
    outcome = await session.apply(Action("hang", "beta"))
    assert outcome.applied, outcome.error
    assert "unanswered" in outcome.detail
    assert "hung" in view(session, "beta").faults
    restored = await session.apply(Action("restore", "beta"))
    assert restored.applied and view(session, "beta").faults == ()


async def test_lag_is_verified_and_the_gateway_sees_it(session: Session) -> None:
    outcome = await session.apply(Action("lag", "gamma"))
    assert outcome.applied, outcome.error
    assert "frozen at" in outcome.detail
    await wait_until(
        lambda: (view(session, "gamma").lag or 0) > 3,
        timeout=5,
        what="the gateway to see gamma behind",
    )
    assert (await session.apply(Action("restore", "gamma"))).applied
    await wait_until(lambda: not view(session, "gamma").lag, timeout=5, what="gamma to catch up")


async def test_reorg_reaches_subscribers_as_a_reorg(session: Session) -> None:
    await wait_until(
        lambda: (ws := session.ws_view()) is not None and ws.heads >= 6,
        what="heads",
    )
    outcome = await session.apply(Action("reorg", None, {"depth": 2}))
    assert outcome.applied, outcome.error
    assert "new hashes" in outcome.detail
    await wait_until(
        lambda: ws_view(session).reorgs >= 2,
        timeout=5,
        what="both subscribers to see the reorg",
    )
    ws = session.ws_view()
    assert ws is not None and (ws.gaps, ws.duplicates, ws.broken_links) == (0, 0, 0)


async def test_strategy_switches_live_and_bad_names_are_refused(session: Session) -> None:
    outcome = await session.apply(Action("strategy", None, {"name": "round-robin"}))
    assert outcome.applied, outcome.error
    assert session.snapshot().strategy == "round-robin"
    await wait_until(
        lambda: sum(1 for p in session.snapshot().providers if p.share > 0.2) == 3,
        timeout=5,
        what="round-robin to spread the traffic",
    )
    refused = await session.apply(Action("strategy", None, {"name": "random"}))
    assert not refused.applied and session.snapshot().strategy == "round-robin"
    assert (await session.apply(Action("strategy", None, {"name": "fastest"}))).applied
    shown = [e.text for e in session.events.recent() if "strategy" in e.text]
    assert [text.split(" ")[:2] for text in shown] == [
        ["strategy", "round-robin"],
        ["strategy", "random"],  # refused: its line says why
        ["strategy", "fastest"],
    ], "one line per switch, the action's: the gateway's own note would say it twice"


async def test_per_method_degrade_is_timed_on_that_method(session: Session) -> None:
    action = Action(
        "degrade",
        "alpha",
        {"latency": 0.3, "jitter": 0.0, "relative": False, "method": "eth_getLogs"},
    )
    outcome = await session.apply(action)
    assert outcome.applied, outcome.error
    assert outcome.detail.startswith("eth_getLogs now +300ms")
    assert "eth_getLogs +300ms" in view(session, "alpha").faults
    assert view(session, "alpha").health == "UP"  # /health is not slowed, only that method


async def test_chaos_that_cannot_be_verified_is_refused(session: Session) -> None:
    assert (await session.apply(Action("kill", "alpha"))).applied
    full: dict[str, ParamValue] = {
        "rate": 0.5,
        "kind": "server-error",
        "code": -32603,
        "retry_after": 1.0,
    }
    refused = await session.apply(Action("errors", "alpha", full))
    assert not refused.applied and "restore it first" in (refused.error or "")
    for provider in ("beta", "gamma"):
        assert (await session.apply(Action("kill", provider))).applied
    nothing = await session.apply(Action("reorg", None, {"depth": 2}))
    assert not nothing.applied and "no provider is up" in (nothing.error or "")


async def test_result_json_carries_failovers_and_gateway_events(tmp_path: Path) -> None:
    running = Session(fast_chain_scenario(), sessions_root=tmp_path)
    await running.start()
    await wait_until(
        lambda: running.metrics is not None and running.metrics.requests > 10, what="traffic"
    )
    await running.apply(Action("kill", "alpha"))
    await wait_until(lambda: running.failover_log.count > 0, what="failovers")
    await running.apply(Action("strategy", None, {"name": "priority"}))
    folder = await running.finish("quit")
    result = json.loads((folder / "result.json").read_text())
    failovers = result["failovers"]
    assert failovers["requests"] > 0 and failovers["away_from"]["alpha"] > 0
    assert failovers["latency_ms"]["count"] == failovers["requests"]
    assert failovers["cost_ms"]["count"] > 0
    assert result["providers"]["alpha"]["failovers_away"] == failovers["away_from"]["alpha"]
    assert result["gateway"]["final_strategy"] == "priority"
    assert any(e["kind"] == "strategy" for e in result["gateway"]["events"])
    assert "answered after a failover" in (folder / "report.md").read_text()
