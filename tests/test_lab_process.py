"""The lab as a real child process: it starts, takes faults through its control endpoint,
stops with nothing left behind, says in one line why it could not start, and dies with its
parent. Chaos is applied through it and verified on the providers' own sockets."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
import pytest
from conftest import REPO
from helpers.orphans import port_listening, process_alive, wait_all_gone
from helpers.waiting import wait_until

from battletui.engine import LabProcess, LabWatcher, Received, SessionStartError
from battletui.engine.chaos import ChaosError, apply_fault
from battletui.engine.probes import connect_refused
from battletui.scenario import Action, ChainSpec, ProviderSpec, Scenario, dumps_scenario

TESTS = str(REPO / "tests")


def scenario() -> Scenario:
    return Scenario(
        name="lab-process",
        duration=10.0,
        seed=4,
        chain=ChainSpec(id=7, block_time=0.2),
        providers=(ProviderSpec("alpha", latency=0.002), ProviderSpec("beta", latency=0.004)),
    )


@pytest.fixture
async def lab() -> AsyncIterator[LabProcess]:
    process = await LabProcess.start(scenario())
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def ports_of(lab: LabProcess) -> list[int]:
    control = int(lab.control_url.rsplit(":", 1)[1])
    return [endpoint.port for endpoint in lab.providers.values()] + [control]


async def exited(pid: int, timeout: float = 5.0) -> None:
    """``os.kill(pid, 0)`` raises ProcessLookupError within ``timeout`` (it was reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"pid {pid} still exists after {timeout}s")
        await asyncio.sleep(0.02)


async def rpc(http: aiohttp.ClientSession, url: str, method: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
    async with http.post(url, json=body) as response:
        await response.read()
        return response.status


async def test_the_lab_runs_apart_takes_a_fault_and_leaves_nothing_behind() -> None:
    lab = await LabProcess.start(scenario())
    try:
        assert lab.pid != os.getpid() and lab.running
        assert list(lab.providers) == ["alpha", "beta"]
        alpha = lab.providers["alpha"]
        assert alpha.spec == scenario().providers[0]
        assert alpha.url == f"http://127.0.0.1:{alpha.port}" and alpha.ws_url.startswith("ws://")
        state = await lab.client.state()
        assert state.head >= 1000 and set(state.providers) == {"alpha", "beta"}
        applied = await lab.client.apply(Action("kill", "alpha"))
        assert applied.faults.killed and applied.detail == {"port": alpha.port}
        assert await connect_refused("127.0.0.1", alpha.port)
        assert port_listening(lab.providers["beta"].port)
    finally:
        ports = ports_of(lab)
        code = await lab.stop()
    assert code == 0
    await exited(lab.pid)
    assert wait_all_gone([], ports, timeout=5.0) == []
    await lab.stop()  # idempotent


async def test_closing_its_stdin_ends_the_lab_without_a_signal(lab: LabProcess) -> None:
    ports = ports_of(lab)
    process = lab.child.process
    assert process.stdin is not None
    process.stdin.close()
    code = await asyncio.wait_for(process.wait(), 2.5)  # before stop()'s SIGTERM would come
    assert code == 0
    assert wait_all_gone([lab.pid], ports, timeout=5.0) == []


def blocked_port() -> tuple[socket.socket, int]:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    return blocker, int(blocker.getsockname()[1])


async def test_a_taken_base_port_is_a_one_line_lab_error() -> None:
    blocker, taken = blocked_port()
    try:
        with pytest.raises(SessionStartError) as raised:
            await LabProcess.start(scenario(), base_port=taken - 1)  # alpha = base + 1
    finally:
        blocker.close()
    message = str(raised.value)
    assert message.startswith(
        f"the lab could not start: provider alpha cannot listen on 127.0.0.1:{taken}"
    )
    assert "in use" in message and "\n" not in message


def test_the_lab_dies_with_its_parent() -> None:
    """The engine gets SIGKILLed: its lab notices and goes, ports and all."""
    config = {"scenario": dumps_scenario(scenario(), "yaml"), "base_port": None, "token": "t"}
    parent = subprocess.Popen(
        [sys.executable, "-m", "children.orphaning_parent", "battletui.lab", json.dumps(config)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": TESTS + os.pathsep + os.environ.get("PYTHONPATH", "")},
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = json.loads(parent.stdout.readline())
        lab_pid = int(line["pid"])
        ready = line["ready"]
        ports = [int(p["port"]) for p in ready["providers"]]
        ports.append(int(ready["control"].rsplit(":", 1)[1]))
        assert ready["pid"] == lab_pid and process_alive(lab_pid)
        assert all(port_listening(port) for port in ports)
        parent.kill()
        parent.wait(timeout=10)
        assert wait_all_gone([lab_pid], ports, timeout=5.0) == []
    finally:
        parent.kill()
        parent.wait()


# -- chaos through the lab process ---------------------------------------------------------


async def test_every_fault_applied_through_the_lab_is_verified(
    lab: LabProcess, http: aiohttp.ClientSession
) -> None:
    steps = [
        (Action("kill", "alpha"), "refuses connections"),
        (Action("restore", "alpha"), "/health answered"),
        (Action("degrade", "alpha", {"latency": 0.1}), "now +100ms"),
        (Action("degrade", "alpha", {"latency": 0.05, "relative": True}), "now +150ms"),
        (Action("degrade", "beta", {"latency": 0.08, "method": "eth_chainId"}), "eth_chainId"),
        (Action("errors", "beta", {"rate": 1.0, "kind": "rpc-error", "code": -32000}), "HTTP 200"),
        (Action("errors", "beta", {"rate": 0.0}), "errors cleared"),
        (Action("hang", "alpha"), "unanswered"),
        (Action("restore", "alpha"), "/health answered"),
        (Action("lag", "beta"), "head frozen at #"),
        (Action("ws-drop", "alpha"), "probe saw 1001"),
        (Action("reorg", None, {"depth": 2}), "alpha serves the new hashes"),
        (Action("flap", "beta", {"down": 5, "up": 1}), "refuses connections"),
        (Action("restore", "beta"), "/health answered"),
    ]
    for action, words in steps:
        detail = await apply_fault(lab, action, http)
        assert words in detail, (action, detail)
    state = await lab.client.state()
    assert not any(p.faults.active for p in state.providers.values())
    assert state.reorgs == 1


async def test_a_fault_that_cannot_take_effect_is_a_chaos_error(
    lab: LabProcess, http: aiohttp.ClientSession
) -> None:
    await apply_fault(lab, Action("kill", "alpha"), http)
    for kind in ("degrade", "errors", "ws-drop"):
        with pytest.raises(ChaosError) as raised:
            await apply_fault(lab, Action(kind, "alpha", {"latency": 0.1, "rate": 0.5}), http)
        assert str(raised.value) == f"{kind} alpha: it is down; restore it first"
    with pytest.raises(ChaosError, match="unknown provider 'gamma'"):
        await apply_fault(lab, Action("kill", "gamma"), http)
    with pytest.raises(ChaosError, match="reorg depth"):
        await apply_fault(lab, Action("reorg", None, {"depth": 0}), http)


async def test_strategy_goes_to_the_switch_the_integrator_provides(
    lab: LabProcess, http: aiohttp.ClientSession
) -> None:
    asked: list[str] = []

    async def switch(name: str) -> str:
        asked.append(name)
        if name == "random":
            raise ValueError("unknown strategy 'random'")
        return f"gateway reports {name}"

    action = Action("strategy", None, {"name": "priority"})
    assert await apply_fault(lab, action, http, switch=switch) == "gateway reports priority"
    with pytest.raises(ChaosError, match="strategy: unknown strategy 'random'"):
        await apply_fault(lab, Action("strategy", None, {"name": "random"}), http, switch=switch)
    with pytest.raises(ChaosError, match="cannot be switched"):
        await apply_fault(lab, action, http)
    assert asked == ["priority", "random"]


# -- watching the lab ----------------------------------------------------------------------


async def test_the_watcher_keeps_faults_and_reports_what_providers_received(
    lab: LabProcess, http: aiohttp.ClientSession
) -> None:
    reports: list[Mapping[str, Received]] = []
    watcher = LabWatcher(lab.client, on_received=reports.append, interval=0.05, report_every=0.2)
    assert watcher.faults("alpha").active is False and watcher.received("alpha") == Received()
    watcher.start()
    try:
        for _ in range(3):
            assert await rpc(http, lab.providers["beta"].url, "eth_blockNumber") == 200
        await lab.client.apply(Action("kill", "alpha"))
        await wait_until(lambda: watcher.faults("alpha").killed, what="alpha killed, as read")
        await wait_until(
            lambda: bool(reports) and reports[-1]["beta"].requests == 3,
            what="a report with beta's 3 requests",
        )
        assert watcher.received("beta").methods == {"eth_blockNumber": 3}
        assert reports[-1]["alpha"].requests == 0
        count = len(reports)
        await rpc(http, lab.providers["beta"].url, "eth_chainId")
    finally:
        await watcher.stop()  # the final read is reported: nothing of the last second lost
    assert len(reports) > count and reports[-1]["beta"].requests == 4
    assert reports[-1]["beta"].to_json() == {
        "requests": 4,
        "methods": {"eth_blockNumber": 3, "eth_chainId": 1},
    }
    assert watcher.last_error is None


async def test_the_watcher_says_when_the_lab_does_not_answer() -> None:
    lab = await LabProcess.start(scenario())
    watcher = LabWatcher(lab.client)
    assert await watcher.poll() is not None
    await lab.child.stop()
    assert await watcher.poll() is None
    assert watcher.last_error is not None and watcher.last_error.startswith("the lab did not")
    assert watcher.latest is not None  # the last state read is kept
    await lab.stop()
