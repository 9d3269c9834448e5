"""A session against an external gateway: here simply another reference gateway process,
started by the test in front of the lab's providers on their fixed ports (``base_port``).

The lab takes every fault, the workload aims at the target, nothing observes its breakers
(``n/a``), lab.json says where everything listens and result.json names the target."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from pathlib import Path

import pytest
from conftest import small_scenario
from helpers.orphans import port_listening, wait_all_gone
from helpers.ports import free_base_port
from helpers.waiting import wait_until

from battletui.engine import JOURNAL_NAME, Session, SessionStartError, read_journal
from battletui.engine.gateway_process import GatewayProcess
from battletui.scenario import Action, Scenario, TargetSpec


def external_scenario(base: int, **changes: object) -> Scenario:
    scenario = small_scenario(rate=40, duration=60)
    target = TargetSpec(http=f"http://127.0.0.1:{base}")
    return dataclasses.replace(scenario, target=target, **changes)  # type: ignore[arg-type]


async def start_with_gateway(session: Session, base: int) -> GatewayProcess:
    """Start the session and, once its lab listens on base+1.., the external gateway on
    ``base`` in front of it (as an operator would start theirs)."""
    starting = asyncio.create_task(session.start())
    ports = [base + 1 + i for i in range(len(session.scenario.providers))]
    try:
        await wait_until(
            lambda: all(port_listening(p) for p in ports) or starting.done(),
            timeout=15,
            what="the lab's providers on their fixed ports",
        )
        if starting.done():
            await starting  # it failed: say why
        upstreams = [(p.id, f"http://127.0.0.1:{port}") for p, port in zip(
            session.scenario.providers, ports, strict=True
        )]  # fmt: skip
        plain = dataclasses.replace(session.scenario, target=None)
        gateway = await GatewayProcess.start(plain, upstreams, port=base)
    except BaseException:
        with contextlib.suppress(BaseException):
            await starting
        raise
    try:
        await starting
    except BaseException:
        await gateway.stop()
        raise
    return gateway


async def test_a_session_against_an_external_gateway(tmp_path: Path) -> None:
    base = free_base_port(4)
    session = Session(external_scenario(base), sessions_root=tmp_path, base_port=base)
    gateway = await start_with_gateway(session, base)
    pids = [gateway.pid]
    try:
        assert session.gateway is None  # no reference gateway was spawned
        assert session.lab is not None
        pids.append(session.lab.pid)
        lab = json.loads((session.dir / "lab.json").read_text())  # type: ignore[operator]
        assert lab == {
            "providers": [
                {
                    "id": pid,
                    "http": f"http://127.0.0.1:{base + i}",
                    "ws": f"ws://127.0.0.1:{base + i}",
                    "port": base + i,
                }
                for i, pid in enumerate(("alpha", "beta", "gamma"), start=1)
            ],
            "gateway": None,
            "target": {
                "kind": "external",
                "http": f"http://127.0.0.1:{base}",
                "ws": None,
                "observers": ["upstream header X-Upstream"],
                "upstream_header": "X-Upstream",
            },
        }
        await wait_until(
            lambda: session.metrics is not None and session.metrics.ok > 20,
            timeout=10,
            what="answers through the external gateway",
        )
        snap = session.snapshot()
        assert snap.gateway_url == f"http://127.0.0.1:{base}"
        assert snap.strategy == "n/a"
        assert [p.breaker for p in snap.providers] == ["n/a"] * 3
        assert snap.share_source == "header"
        assert sum(p.served for p in snap.providers) > 0  # X-Upstream names who answered

        outcome = await session.apply(Action("kill", "alpha"), "key")
        assert outcome.applied, outcome.error
        watch = session.lab_watch
        assert watch is not None
        await watch.poll()
        at_kill = {p: watch.received(p).requests for p in ("alpha", "beta", "gamma")}
        await wait_until(
            lambda: (
                watch.received("beta").requests
                + watch.received("gamma").requests
                - at_kill["beta"]
                - at_kill["gamma"]
                > 40
            ),
            timeout=10,
            what="the others to receive the traffic",
        )
        await watch.poll()
        assert watch.received("alpha").requests == at_kill["alpha"]  # nothing while down

        refused = await session.apply(Action("strategy", None, {"name": "round-robin"}))
        assert not refused.applied
        assert refused.error is not None and "external gateway" in refused.error
        assert "\n" not in refused.error
        assert (await session.apply(Action("restore", "alpha"))).applied
    finally:
        folder = await session.finish("quit")
        await gateway.stop()
    assert wait_all_gone(pids, [base + i for i in range(4)]) == []
    result = json.loads((folder / "result.json").read_text())
    assert result["target"] == {
        "kind": "external",
        "http": f"http://127.0.0.1:{base}",
        "ws": None,
        "observers": ["upstream header X-Upstream"],
        "upstream_header": "X-Upstream",
    }
    assert result["http"]["requests"] > 0
    report = (folder / "report.md").read_text()
    assert (
        f"System under test: http://127.0.0.1:{base} (external; breakers not observed (n/a); "
        "observed via upstream header X-Upstream)" in report
    )
    entries = list(read_journal(folder / JOURNAL_NAME))
    assert [e["kind"] for e in entries if e["type"] == "target"] == ["external"]
    assert "target:" in (folder / "scenario.yaml").read_text()  # the recording keeps it


async def test_no_upstream_header_counts_nothing_served(tmp_path: Path) -> None:
    """``upstream_header: none``: the workload reads no header, the share is what the
    providers received."""
    base = free_base_port(4)
    scenario = external_scenario(base)
    assert scenario.target is not None
    target = dataclasses.replace(
        scenario.target,
        observe=dataclasses.replace(scenario.target.observe, upstream_header=None),
    )
    session = Session(
        dataclasses.replace(scenario, target=target), sessions_root=tmp_path, base_port=base
    )
    gateway = await start_with_gateway(session, base)
    try:
        await wait_until(
            lambda: session.metrics is not None and session.metrics.ok > 20,
            timeout=10,
            what="answers through the external gateway",
        )
        assert session.metrics is not None and not session.metrics.upstreams
        assert session.snapshot().share_source == "received"  # bars from what they received
    finally:
        folder = await session.finish("quit")
        await gateway.stop()
    result = json.loads((folder / "result.json").read_text())
    assert result["target"]["observers"] == [] and result["target"]["upstream_header"] is None
    assert "no upstream header" in (folder / "report.md").read_text()


async def test_a_target_nothing_listens_on_is_one_line(tmp_path: Path) -> None:
    base = free_base_port(4)
    session = Session(external_scenario(base), sessions_root=tmp_path, base_port=base)
    with pytest.raises(SessionStartError) as info:
        await session.start()
    message = str(info.value)
    assert "\n" not in message
    assert f"the target http://127.0.0.1:{base} does not accept connections" in message
    assert wait_all_gone([], [base + i for i in range(4)]) == []


async def test_the_reference_gateway_is_described_like_an_external_one(tmp_path: Path) -> None:
    session = Session(small_scenario(rate=20, duration=2), sessions_root=tmp_path)
    await session.start()
    assert session.gateway is not None and session.target is not None
    assert session.target.kind == "reference"
    admin = session.gateway.admin_url
    assert session.target.spec.observe.health == f"{admin}/health"
    assert session.target.spec.observe.events == "ws" + admin.removeprefix("http") + "/events"
    lab = json.loads((session.dir / "lab.json").read_text())  # type: ignore[operator]
    assert lab["gateway"] == {"http": session.gateway.url, "ws": session.gateway.ws_url}
    assert lab["target"]["kind"] == "reference"
    assert lab["target"]["observers"] == ["health", "events", "upstream header X-Upstream"]
    folder = await session.wait_finished()
    result = json.loads((folder / "result.json").read_text())
    assert result["target"]["kind"] == "reference"
    assert (
        "System under test: the reference gateway (observed via health, events, "
        in (folder / "report.md").read_text()
    )
