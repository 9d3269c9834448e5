"""The reference gateway as a real child process: ready, serving, stopping, refusing a taken
port, and dying with its parent however the parent dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from conftest import REPO, small_scenario
from helpers.fake_node import Chain, FakeNode
from helpers.waiting import wait_until

from battletui.engine.errors import SessionStartError
from battletui.engine.gateway_process import GatewayProcess
from battletui.scenario import dumps_scenario

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")


def pid_gone(pid: int) -> bool:
    """No such process, or only its zombie (it has exited; nothing of it runs)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def port_refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        return False


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].rstrip("/"))


@pytest.fixture
async def node() -> AsyncIterator[FakeNode]:
    node = FakeNode("alpha", Chain())
    await node.start()
    try:
        yield node
    finally:
        await node.kill()


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


async def test_serves_json_rpc_then_stops_leaving_nothing(node: FakeNode) -> None:
    gateway = await GatewayProcess.start(small_scenario(), [("alpha", node.upstream.url)])
    try:
        assert gateway.pid != os.getpid() and gateway.running
        assert gateway.url.startswith("http://127.0.0.1:")
        assert gateway.ws_url == "ws://" + gateway.url.removeprefix("http://")
        assert gateway.admin_url == gateway.url
        body = {"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []}
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
            response = await http.post(gateway.url, json=body)
            assert response.json() == {"jsonrpc": "2.0", "id": 7, "result": hex(node.chain.head)}
            assert response.headers["X-Upstream"] == "alpha"
            health = (await http.get(gateway.admin_url + "/health")).json()
        assert health["pid"] == gateway.pid
        assert health["strategy"] == "fastest"
        assert list(health["upstreams"]) == ["alpha"]
    finally:
        code = await gateway.stop()
    assert code == 0
    port = port_of(gateway.url)
    await wait_until(lambda: pid_gone(gateway.pid), timeout=5.0, what="the gateway to exit")
    await wait_until(lambda: port_refuses(port), timeout=5.0, what="its port to close")
    assert await gateway.stop() == 0, "stopping twice is fine"


async def test_a_taken_port_is_one_line(taken_port: int) -> None:
    with pytest.raises(SessionStartError) as raised:
        await GatewayProcess.start(
            small_scenario(), [("alpha", "http://127.0.0.1:9/")], port=taken_port
        )
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("the gateway could not start: ")
    assert "address already in use" in message


async def test_a_configuration_it_cannot_use_is_one_line() -> None:
    with pytest.raises(SessionStartError) as raised:
        await GatewayProcess.start(small_scenario(), [])
    assert str(raised.value) == (
        "the gateway could not start: bad configuration: "
        "upstreams: expected a non-empty list of {id, url}"
    )


PARENT = """
import asyncio, json, sys
from battletui.engine.gateway_process import GatewayProcess
from battletui.scenario import loads_scenario

async def main() -> None:
    config = json.loads(sys.argv[1])
    scenario = loads_scenario(config["scenario"], path="<test>", fmt="yaml")
    gateway = await GatewayProcess.start(scenario, [("alpha", config["upstream"])])
    print(json.dumps({"pid": gateway.pid, "url": gateway.url}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_the_gateway_dies_with_its_parent() -> None:
    config = {
        "scenario": dumps_scenario(small_scenario(), "yaml"),
        "upstream": "http://127.0.0.1:9/",
    }
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PARENT,
        json.dumps(config),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert parent.stdout is not None
        line = await asyncio.wait_for(parent.stdout.readline(), timeout=20.0)
        ready = json.loads(line)
        pid, port = int(ready["pid"]), port_of(ready["url"])
        assert not pid_gone(pid) and not port_refuses(port)
    finally:
        parent.send_signal(signal.SIGKILL)
        await parent.wait()
    try:
        await wait_until(lambda: pid_gone(pid), timeout=5.0, what="the orphaned gateway to exit")
        await wait_until(lambda: port_refuses(port), timeout=5.0, what="its port to close")
    finally:
        if not pid_gone(pid):  # the test failed: do not leave it behind either
            os.kill(pid, signal.SIGKILL)


def test_the_gateway_process_imports_nothing_of_the_rest() -> None:
    """The system under test knows nothing of what tests it (a fresh interpreter's view)."""
    probe = (
        "import sys, battletui.gateway.__main__\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'battletui.engine', 'battletui.providers', 'battletui.workload', 'battletui.lab',"
        " 'battletui.ui', 'battletui.metrics', 'textual'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
