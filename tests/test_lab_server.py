"""The lab's fault-control endpoint, driven over HTTP like the engine drives it: the token,
every fault landing on the providers' real sockets, refusals with one-line reasons, reorgs,
and what the providers received."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from helpers.waiting import wait_until

from battletui.engine.probes import connect_refused, probe_health
from battletui.lab import LabServer, LabStartError
from battletui.scenario import ChainSpec, ProviderSpec, Scenario

TOKEN = "s3cret-token"
Json = Any


def lab_scenario() -> Scenario:
    return Scenario(
        name="lab",
        duration=10.0,
        seed=9,
        chain=ChainSpec(id=5, block_time=0.1),
        providers=(ProviderSpec("alpha", latency=0.002), ProviderSpec("beta", latency=0.002)),
    )


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    server = LabServer(lab_scenario(), token=TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def ask(
    http: aiohttp.ClientSession,
    lab: LabServer,
    method: str,
    path: str,
    body: Json = None,
    token: str | None = TOKEN,
) -> tuple[int, Json]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    data = None if body is None else json.dumps(body)
    async with http.request(method, lab.control_url + path, data=data, headers=headers) as r:
        return r.status, await r.json()


async def rpc(http: aiohttp.ClientSession, url: str, method: str) -> tuple[int, Json]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
    async with http.post(url, json=body, headers={"Connection": "close"}) as response:
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", ""])
async def test_every_request_needs_the_token(
    lab: LabServer, http: aiohttp.ClientSession, token: str | None
) -> None:
    for method, path in (("GET", "/state"), ("POST", "/providers/alpha/kill"), ("GET", "/x")):
        status, answer = await ask(http, lab, method, path, token=token)
        assert status == 401 and "Bearer" in answer["error"]
    assert not lab.providers["alpha"].faults.killed


async def test_state_lists_the_chain_and_every_provider(
    lab: LabServer, http: aiohttp.ClientSession
) -> None:
    status, state = await ask(http, lab, "GET", "/state")
    assert status == 200
    assert state["chain"]["id"] == 5 and state["chain"]["head"] >= 1000
    assert [p["id"] for p in state["providers"]] == ["alpha", "beta"]
    alpha = state["providers"][0]
    assert alpha["url"] == lab.providers["alpha"].url and alpha["port"] > 0
    assert alpha["faults"]["killed"] is False and alpha["faults"]["summary"] == {}
    assert alpha["received"] == {"requests": 0, "http": 0, "ws": 0, "methods": {}}


async def test_kill_refuses_the_port_and_restore_answers_again(
    lab: LabServer, http: aiohttp.ClientSession
) -> None:
    alpha = lab.providers["alpha"]
    status, answer = await ask(http, lab, "POST", "/providers/alpha/kill")
    assert status == 200 and answer["faults"]["killed"] is True
    assert answer["detail"] == {"port": alpha.port}
    assert await connect_refused("127.0.0.1", alpha.port)  # returned once in effect
    status, answer = await ask(http, lab, "POST", "/providers/alpha/restore")
    assert status == 200 and answer["faults"]["summary"] == {}
    assert (await probe_health(http, alpha.url)).outcome == "ok"


async def test_degrade_is_measurable_on_the_provider(
    lab: LabServer, http: aiohttp.ClientSession
) -> None:
    url = lab.providers["beta"].url
    status, answer = await ask(http, lab, "POST", "/providers/beta/degrade", {"latency": 0.15})
    assert status == 200 and answer["detail"]["latency"] == 0.15
    assert answer["faults"]["added_latency"] == 0.15
    assert (await probe_health(http, url, timeout=3)).rtt >= 0.15
    status, answer = await ask(
        http, lab, "POST", "/providers/beta/degrade", {"latency": 0.05, "relative": True}
    )
    assert answer["detail"]["latency"] == pytest.approx(0.2)  # a step on top of what was added
    started = time.monotonic()
    await rpc(http, url, "eth_blockNumber")
    assert time.monotonic() - started >= 0.2


async def test_errors_are_injected_and_cleared(lab: LabServer, http: aiohttp.ClientSession) -> None:
    url = lab.providers["alpha"].url
    body = {"rate": 1.0, "kind": "rate-limit", "retry_after": 2}
    status, answer = await ask(http, lab, "POST", "/providers/alpha/errors", body)
    assert status == 200 and answer["faults"]["summary"]["errors"]["kind"] == "rate-limit"
    status, reply = await rpc(http, url, "eth_blockNumber")
    assert status == 429 and reply["error"]["code"] == -32005
    await ask(http, lab, "POST", "/providers/alpha/errors", {"rate": 0})
    status, reply = await rpc(http, url, "eth_blockNumber")
    assert status == 200 and "result" in reply


@pytest.mark.parametrize("kind", ["degrade", "errors", "ws-drop"])
async def test_faults_that_need_a_live_provider_are_refused_while_killed(
    lab: LabServer, http: aiohttp.ClientSession, kind: str
) -> None:
    await ask(http, lab, "POST", "/providers/alpha/kill")
    status, answer = await ask(http, lab, "POST", f"/providers/alpha/{kind}", {"rate": 0.5})
    assert (status, answer) == (409, {"error": "it is down; restore it first"})
    assert lab.providers["alpha"].faults.summary() == {"killed": True}


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/providers/gamma/kill", {}, 404, "unknown provider 'gamma' (known: alpha, beta)"),
        ("/providers/alpha/explode", {}, 404, "unknown fault 'explode'"),
        ("/providers/alpha/degrade", {"latency": "slow"}, 400, "latency must be a number"),
        ("/providers/alpha/degrade", {"latency": -1}, 400, ">= 0"),
        ("/providers/alpha/errors", {"rate": 2}, 400, "within 0..1"),
        ("/providers/alpha/flap", {"down": 0}, 400, "down > 0"),
        ("/providers/alpha/kill", [1, 2], 400, "JSON object"),
        ("/chain/reorg", {"depth": 0}, 400, "reorg depth"),
    ],
)
async def test_bad_requests_get_one_line_reasons(
    lab: LabServer, http: aiohttp.ClientSession, path: str, body: Json, status: int, words: str
) -> None:
    got, answer = await ask(http, lab, "POST", path, body)
    assert got == status and words in answer["error"] and "\n" not in answer["error"]
    assert not lab.providers["alpha"].faults.active


async def test_hang_flap_lag_and_ws_drop_land_on_the_provider(
    lab: LabServer, http: aiohttp.ClientSession
) -> None:
    alpha = lab.providers["alpha"]
    status, answer = await ask(http, lab, "POST", "/providers/alpha/lag")
    assert status == 200 and answer["faults"]["lagging"] is True
    frozen = answer["detail"]["head"]
    assert answer["detail"]["chain_head"] >= frozen and answer["detail"]["next_block_in"] >= 0
    await wait_until(lambda: lab.chain.head_number() > frozen, what="the chain to move on")
    assert (await rpc(http, alpha.url, "eth_blockNumber"))[1]["result"] == hex(frozen)

    status, answer = await ask(http, lab, "POST", "/providers/alpha/ws-drop")
    assert (status, answer["detail"]) == (200, {"closed": 0})

    status, answer = await ask(http, lab, "POST", "/providers/alpha/hang")
    assert status == 200 and answer["faults"]["hung"] is True
    assert (await probe_health(http, alpha.url, timeout=0.3)).outcome == "timeout"

    body = {"down": 5, "up": 1}
    status, answer = await ask(http, lab, "POST", "/providers/alpha/flap", body)
    assert status == 200 and answer["faults"]["flapping"] and answer["faults"]["killed"]
    assert await connect_refused("127.0.0.1", alpha.port)
    await ask(http, lab, "POST", "/providers/alpha/restore")
    assert not alpha.faults.active


async def test_reorg_replaces_blocks_the_providers_then_serve(
    lab: LabServer, http: aiohttp.ClientSession
) -> None:
    status, answer = await ask(http, lab, "POST", "/chain/reorg", {"depth": 3})
    assert status == 200
    replaced = answer["replaced"]
    assert len(replaced) == 3 and all(old != new for _, old, new in replaced)
    number, _, new = replaced[-1]
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber",
            "params": [hex(number), False]}  # fmt: skip
    async with http.post(lab.providers["beta"].url, json=body) as response:
        assert (await response.json())["result"]["hash"] == new
    status, chain = await ask(http, lab, "GET", "/chain")
    assert status == 200 and chain["reorgs"] == 1 and chain["head"] >= number


async def test_state_shows_faults_and_received_counts(
    lab: LabServer, http: aiohttp.ClientSession
) -> None:
    beta = lab.providers["beta"]
    for _ in range(3):
        await rpc(http, beta.url, "eth_chainId")
    await ask(http, lab, "POST", "/providers/beta/errors", {"rate": 1.0})
    await rpc(http, beta.url, "eth_blockNumber")
    slow_call = {"latency": 0.01, "method": "eth_call"}
    await ask(http, lab, "POST", "/providers/alpha/degrade", slow_call)
    _, state = await ask(http, lab, "GET", "/state")
    alpha, beta_state = state["providers"]
    assert alpha["faults"]["summary"] == {
        "degrade_methods": {"eth_call": {"latency": 0.01, "jitter": 0.0}}
    }
    assert beta_state["faults"]["error_rate"] == 1.0
    assert beta_state["received"] == {
        "requests": 4,
        "http": 4,
        "ws": 0,
        "methods": {"eth_blockNumber": 1, "eth_chainId": 3},
    }


def blocked_port_after_a_free_one() -> tuple[socket.socket, int]:
    """A listening socket on port P whose neighbour P - 1 is free (as far as we can tell)."""
    for _ in range(50):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port - 1))
        except OSError:
            blocker.close()
            continue
        finally:
            probe.close()
        return blocker, port
    pytest.fail("no free pair of ports found")


async def test_a_taken_port_fails_the_start_in_one_line_and_frees_the_rest() -> None:
    blocker, taken = blocked_port_after_a_free_one()
    try:
        server = LabServer(lab_scenario(), base_port=taken - 2, token=TOKEN)  # beta = +2
        with pytest.raises(LabStartError) as caught:
            await server.start()
        message = str(caught.value)
        assert message.startswith("the lab could not start: provider beta cannot listen on")
        assert f"127.0.0.1:{taken}" in message and "\n" not in message
        assert await connect_refused("127.0.0.1", taken - 1)  # alpha was released again
    finally:
        blocker.close()
