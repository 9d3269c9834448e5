"""The fault palette of the mock providers, observed over real sockets exactly as a gateway
would see it: errors (503 / 429 + Retry-After / JSON-RPC errors), hang, lag, per-method
degrade, restore of everything at once; and ``eth_getLogs``.

A fast real chain (0.1 s blocks). Waits are bounded; the only fixed waits prove that
something does *not* happen (a hung provider answering, a lagging one announcing heads).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest
from helpers.waiting import wait_until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake

from battletui.chain import MockChain
from battletui.chain.tokens import APPROVAL_TOPIC, TRANSFER_TOPIC
from battletui.protocol.faults import FaultState
from battletui.providers import MockProvider
from battletui.scenario import ProviderSpec

DEADLINE = 5.0
BLOCK_TIME = 0.1
FIRST = 1000
SILENCE = 0.5
"""How long a hung provider must stay silent to count as not answering."""
FAST = 0.2
"""An undegraded local answer comes within this even on a busy machine (a loaded runner once
took 108 ms); every degrade the tests tell apart from none is at least this long."""

Json = Any
HASH32 = re.compile(r"^0x[0-9a-f]{64}$")
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")
QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
GETH_LOG_KEYS = [
    "address", "topics", "data", "blockNumber", "transactionHash", "transactionIndex",
    "blockHash", "logIndex", "removed",
]  # fmt: skip


# -- fixtures and helpers ------------------------------------------------------------------


def new_chain(seed: int = 11) -> MockChain:
    return MockChain(seed, chain_id=5, block_time=BLOCK_TIME, first_block=FIRST)


@pytest.fixture
def chain() -> MockChain:
    return new_chain()


async def started(chain: MockChain, name: str = "alpha") -> MockProvider:
    provider = MockProvider(ProviderSpec(name, latency=0.0), chain, seed=3)
    await provider.start()
    return provider


@pytest.fixture
async def provider(chain: MockChain) -> AsyncIterator[MockProvider]:
    p = await started(chain)
    yield p
    await p.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def rpc(method: str, *params: object, rid: object = 7) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}


async def post(
    http: aiohttp.ClientSession, url: str, payload: object
) -> tuple[int, dict[str, str], Json]:
    """Status, headers and decoded body (None when empty)."""
    data = json.dumps(payload).encode()
    async with http.post(url, data=data, headers={"Content-Type": "application/json"}) as r:
        raw = await r.read()
        return r.status, dict(r.headers), (json.loads(raw) if raw else None)


async def result(http: aiohttp.ClientSession, url: str, method: str, *params: object) -> Json:
    status, _, body = await post(http, url, rpc(method, *params))
    assert status == 200 and "error" not in body, (status, body)
    return body["result"]


async def rpc_error(http: aiohttp.ClientSession, url: str, method: str, *params: object) -> Json:
    status, _, body = await post(http, url, rpc(method, *params))
    assert status == 200 and "result" not in body, (status, body)
    return body["error"]


async def health(http: aiohttp.ClientSession, url: str) -> Json:
    async with http.get(url + "/health") as resp:
        assert resp.status == 200
        return await resp.json()


async def timed(call: Awaitable[Json]) -> tuple[float, Json]:
    started_at = time.monotonic()
    value = await call
    return time.monotonic() - started_at, value


def raw_request(payload: dict[str, object]) -> bytes:
    data = json.dumps(payload).encode()
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


class Client:
    """A WebSocket JSON-RPC client: answers by id, heads queued with their arrival time."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.heads: asyncio.Queue[tuple[float, Json]] = asyncio.Queue()
        self._answers: dict[object, asyncio.Future[Json]] = {}
        self._batches: asyncio.Queue[Json] = asyncio.Queue()
        self._ids = itertools.count(1)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.conn:
            message = json.loads(raw)
            if isinstance(message, list):
                self._batches.put_nowait(message)
            elif "id" in message:
                self._answers.pop(message["id"]).set_result(message)
            else:
                self.heads.put_nowait((time.monotonic(), message["params"]["result"]))

    def send(self, method: str, *params: object) -> asyncio.Future[Json]:
        """Send a request; the future resolves with the whole answer."""
        rid = next(self._ids)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._answers[rid] = future
        sending = asyncio.ensure_future(self.conn.send(json.dumps(rpc(method, *params, rid=rid))))
        future.add_done_callback(lambda _: sending.cancel())
        return future

    async def answer(self, method: str, *params: object) -> Json:
        return await asyncio.wait_for(self.send(method, *params), DEADLINE)

    async def call(self, method: str, *params: object) -> Json:
        answer = await self.answer(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    async def batch(self, payload: list[Json]) -> Json:
        await self.conn.send(json.dumps(payload))
        return await asyncio.wait_for(self._batches.get(), DEADLINE)

    async def head(self) -> tuple[float, Json]:
        return await asyncio.wait_for(self.heads.get(), DEADLINE)

    def drain(self) -> list[Json]:
        out = []
        while not self.heads.empty():
            out.append(self.heads.get_nowait()[1])
        return out

    async def close(self) -> None:
        await self.conn.close()
        await asyncio.wait([self.reader], timeout=DEADLINE)


@pytest.fixture
async def clients() -> AsyncIterator[Callable[[MockProvider], Awaitable[Client]]]:
    opened: list[Client] = []

    async def open_client(provider: MockProvider) -> Client:
        client = Client(await connect(provider.ws_url, open_timeout=DEADLINE))
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


OpenClient = Callable[[MockProvider], Awaitable[Client]]


def number(header: Json) -> int:
    return int(header["number"], 16)


# -- errors --------------------------------------------------------------------------------


async def test_server_error_is_503_with_a_jsonrpc_error(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await provider.errors(1.0)
    assert provider.faults == FaultState(
        error_rate=1.0, error_kind="server-error", error_code=-32603, retry_after=1.0
    )
    status, headers, body = await post(http, provider.url, rpc("eth_blockNumber"))
    assert status == 503
    assert headers["Content-Type"] == "application/json"
    assert "Retry-After" not in headers
    assert body == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32603, "message": "upstream unavailable (injected 503)"},
    }
    batch = [rpc("eth_chainId", rid="a"), rpc("net_version", rid="b")]
    status, _, body = await post(http, provider.url, batch)
    assert status == 503
    assert [(m["id"], m["error"]["code"]) for m in body] == [("a", -32603), ("b", -32603)]
    assert (await health(http, provider.url))["faults"] == {
        "errors": {"rate": 1.0, "kind": "server-error", "code": -32603}
    }


@pytest.mark.parametrize(("retry_after", "header"), [(2.5, "3"), (0.2, "1"), (4, "4")])
async def test_rate_limit_is_429_with_retry_after_and_infura_body(
    provider: MockProvider, http: aiohttp.ClientSession, retry_after: float, header: str
) -> None:
    await provider.errors(1.0, "rate-limit", retry_after=retry_after)
    assert provider.faults.error_code == -32005
    for _ in range(3):
        status, headers, body = await post(http, provider.url, rpc("eth_blockNumber", rid=9))
        assert status == 429
        assert headers["Retry-After"] == header
        assert headers["Content-Type"] == "application/json"
        assert set(body) == {"jsonrpc", "id", "error"} and body["id"] == 9
        error = body["error"]
        assert error["code"] == -32005
        assert error["message"] == "project ID request rate exceeded"
        data = error["data"]
        assert list(data) == ["see", "current_rps", "allowed_rps", "backoff_seconds"]
        assert data["see"] == "https://infura.io/dashboard"
        assert isinstance(data["current_rps"], float) and data["current_rps"] >= 1.0
        assert data["allowed_rps"] == 0.0  # every request is refused
        assert data["backoff_seconds"] == float(retry_after)
        assert isinstance(data["backoff_seconds"], float)


async def test_rate_limit_allowed_rps_is_what_gets_through(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await provider.errors(0.5, "rate-limit")
    limited: list[dict[str, Any]] = []
    while len(limited) < 3:
        status, _, body = await post(http, provider.url, rpc("eth_chainId"))
        if status == 429:
            limited.append(body["error"]["data"])
    for data in limited:
        assert 0.0 < data["allowed_rps"] < data["current_rps"]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-32603, "internal error"),
        (-32000, "header not found"),
        (-32001, "resource not found"),
        (-32042, "server error"),
    ],
)
async def test_rpc_error_is_http_200_with_the_given_code(
    provider: MockProvider, http: aiohttp.ClientSession, code: int, message: str
) -> None:
    await provider.errors(1.0, "rpc-error", code=code)
    status, headers, body = await post(http, provider.url, rpc("eth_getBlockByNumber", "latest"))
    assert status == 200 and "Retry-After" not in headers
    assert body == {"jsonrpc": "2.0", "id": 7, "error": {"code": code, "message": message}}
    notification = {"jsonrpc": "2.0", "method": "eth_chainId"}
    status, _, body = await post(http, provider.url, notification)
    assert (status, body) == (204, None)  # a notification still gets nothing


async def test_errors_validate_their_arguments(provider: MockProvider) -> None:
    for bad in (
        provider.errors(1.5),
        provider.errors(-0.1),
        provider.errors(1.0, "teapot"),
        provider.errors(1.0, "rpc-error", code=-32700),
        provider.errors(1.0, "rpc-error", code=-32100),
        provider.errors(1.0, "rate-limit", retry_after=-1),
    ):
        with pytest.raises(ValueError):
            await bad
    assert provider.faults == FaultState()


async def statuses(http: aiohttp.ClientSession, url: str, count: int) -> list[int]:
    return [(await post(http, url, rpc("eth_chainId")))[0] for _ in range(count)]


async def test_half_the_requests_fail_deterministically_and_rate_zero_clears(
    chain: MockChain, provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await provider.errors(0.5)
    seen = await statuses(http, provider.url, 200)
    assert set(seen) == {200, 503}
    assert 60 <= seen.count(503) <= 140, seen.count(503)

    twin = await started(chain)  # same seed and id: the same draws
    try:
        await twin.errors(0.5)
        assert await statuses(http, twin.url, 200) == seen
    finally:
        await twin.stop()

    await provider.errors(0)
    assert provider.faults == FaultState()
    assert set(await statuses(http, provider.url, 20)) == {200}


async def test_the_spec_error_rate_is_separate(
    chain: MockChain, http: aiohttp.ClientSession
) -> None:
    p = MockProvider(ProviderSpec("gamma", latency=0.0, error_rate=1.0), chain)
    await p.start()
    try:
        await p.errors(1.0, "rate-limit")
        status, _, body = await post(http, p.url, rpc("eth_chainId"))
        assert status == 500 and body["error"]["code"] == -32603  # the baseline comes first
        await p.errors(0)
        assert (await post(http, p.url, rpc("eth_chainId")))[0] == 500
    finally:
        await p.stop()


async def test_errors_over_websocket_spare_notifications(
    provider: MockProvider, clients: OpenClient
) -> None:
    client = await clients(provider)
    sid = await client.call("eth_subscribe", "newHeads")
    await client.head()

    await provider.errors(1.0, "rate-limit", retry_after=2)
    answer = await client.answer("eth_blockNumber")
    assert set(answer) == {"jsonrpc", "id", "error"}
    assert answer["error"]["code"] == -32005
    assert answer["error"]["message"] == "project ID request rate exceeded"
    assert answer["error"]["data"]["backoff_seconds"] == 2.0
    assert answer["error"]["data"]["see"] == "https://infura.io/dashboard"
    client.drain()
    _, first = await client.head()  # heads keep coming while every request fails
    _, second = await client.head()
    assert number(second) == number(first) + 1

    await provider.errors(1.0, "server-error")
    assert (await client.answer("eth_chainId"))["error"] == {
        "code": -32603,
        "message": "upstream unavailable (injected 503)",
    }
    await provider.errors(1.0, "rpc-error", code=-32000)
    assert (await client.answer("eth_subscribe", "newHeads"))["error"] == {
        "code": -32000,
        "message": "header not found",
    }
    assert provider.subscriptions == 1  # the failed subscribe made none
    batch = await client.batch([rpc("eth_chainId", rid=1), rpc("net_version", rid=2)])
    assert [(m["id"], m["error"]["code"]) for m in batch] == [(1, -32000), (2, -32000)]

    await provider.errors(0)
    assert await client.call("eth_chainId") == "0x5"
    assert await client.call("eth_unsubscribe", sid) is True


# -- hang ----------------------------------------------------------------------------------


async def test_hang_accepts_and_never_answers_until_restore(
    provider: MockProvider, http: aiohttp.ClientSession, clients: OpenClient
) -> None:
    subscriber = await clients(provider)
    await subscriber.call("eth_subscribe", "newHeads")
    _, first = await subscriber.head()

    await provider.hang()
    assert provider.faults == FaultState(hung=True)
    last = max([number(h) for h in subscriber.drain()], default=number(first))

    reader, writer = await asyncio.open_connection("127.0.0.1", provider.port)  # accepted
    writer.write(raw_request(rpc("eth_blockNumber")))
    health_reader, health_writer = await asyncio.open_connection("127.0.0.1", provider.port)
    health_writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    raw_read = asyncio.ensure_future(reader.read(1))
    health_read = asyncio.ensure_future(health_reader.read(1))
    client_post = asyncio.ensure_future(post(http, provider.url, rpc("eth_chainId")))
    handshake = asyncio.ensure_future(connect(provider.ws_url, open_timeout=DEADLINE))
    held_answer = subscriber.send("eth_chainId")
    pending: list[asyncio.Future[Any]] = [
        raw_read,
        health_read,
        client_post,
        handshake,
        held_answer,
    ]

    done, _ = await asyncio.wait(pending, timeout=SILENCE)
    assert done == set(), "a hung provider answered"
    assert subscriber.heads.empty(), "a hung provider sent heads"
    assert provider.in_flight == 3  # raw request, health check, client request (not upgrades)
    assert not writer.transport.is_closing()  # held open, not closed

    started_at = time.monotonic()
    await provider.restore()
    for held in (raw_read, health_read):
        with pytest.raises(ConnectionResetError):  # reset, not answered
            await asyncio.wait_for(held, DEADLINE)
    with pytest.raises(aiohttp.ClientError):  # a POST is not retried by aiohttp
        await asyncio.wait_for(client_post, DEADLINE)
    with pytest.raises((OSError, InvalidHandshake)):
        await asyncio.wait_for(handshake, DEADLINE)
    assert time.monotonic() - started_at < 0.5
    assert provider.faults == FaultState() and provider.in_flight == 0
    writer.close()
    health_writer.close()

    # The open WebSocket resumes: its held answer, then every head missed, in order.
    assert (await asyncio.wait_for(held_answer, DEADLINE))["result"] == "0x5"
    heads = [number(h) for _, h in [await subscriber.head() for _ in range(5)]]
    assert heads == list(range(last + 1, last + 6)), (last, heads)
    assert (await health(http, provider.url))["faults"] == {}
    assert await result(http, provider.url, "eth_chainId") == "0x5"


async def test_stop_resets_requests_held_by_a_hang(chain: MockChain) -> None:
    provider = await started(chain)
    await provider.hang()
    reader, writer = await asyncio.open_connection("127.0.0.1", provider.port)
    writer.write(raw_request(rpc("eth_chainId")))
    await wait_until(lambda: provider.in_flight == 1, what="the request to be held")
    started_at = time.monotonic()
    await provider.stop()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(1), DEADLINE)
    assert time.monotonic() - started_at < 0.5
    assert not provider.faults.hung
    writer.close()


# -- lag -----------------------------------------------------------------------------------


async def test_lag_freezes_the_head_and_restore_catches_up(
    provider: MockProvider, chain: MockChain, http: aiohttp.ClientSession, clients: OpenClient
) -> None:
    client = await clients(provider)
    await client.call("eth_subscribe", "newHeads")
    await client.head()

    frozen = await provider.lag()
    assert frozen == chain.head_number() and provider.head == frozen
    assert provider.faults == FaultState(lagging=True, lag_head=frozen)
    assert await provider.lag() == frozen  # idempotent
    assert all(number(h) <= frozen for h in client.drain())
    late = await clients(provider)
    await late.call("eth_subscribe", "newHeads")  # made while lagging
    await wait_until(lambda: chain.head_number() >= frozen + 3, what="the chain to move on")

    url = provider.url
    assert await result(http, url, "eth_blockNumber") == hex(frozen)
    latest = await result(http, url, "eth_getBlockByNumber", "latest", False)
    assert latest == chain.block(frozen).to_json()  # type: ignore[union-attr]
    assert await result(http, url, "eth_getBlockByNumber", "pending", False) == latest
    assert await result(http, url, "eth_getBlockByNumber", hex(frozen + 1), False) is None
    assert await result(http, url, "eth_getBlockByHash", chain.hash_of(frozen + 1), False) is None
    logs = await result(
        http, url, "eth_getLogs", {"fromBlock": hex(frozen - 30), "toBlock": hex(frozen + 2)}
    )
    expected = [log.to_json() for n in range(frozen - 30, frozen + 1) for log in chain.logs(n)]
    assert logs == expected
    assert await client.call("eth_blockNumber") == hex(frozen)
    body = await health(http, url)
    assert body["head"] == frozen and body["lagging"] is True
    assert body["faults"] == {"lag": {"head": frozen}}
    assert client.heads.empty() and late.heads.empty(), "no newHeads while lagging"

    await provider.restore()
    restored_at, caught_up = time.monotonic(), chain.head_number()
    assert provider.faults == FaultState() and provider.head == caught_up
    for subscriber in (client, late):
        heads = [await subscriber.head() for _ in range(caught_up - frozen + 1)]
        assert [number(h) for _, h in heads] == list(range(frozen + 1, caught_up + 2))
        assert all(at - restored_at < 0.05 for at, h in heads if number(h) <= caught_up)
        assert heads[0][1]["parentHash"] == chain.hash_of(frozen)
        for (_, parent), (_, child) in itertools.pairwise(heads):
            assert child["parentHash"] == parent["hash"]
    assert int(await result(http, url, "eth_blockNumber"), 16) >= caught_up
    assert (await health(http, url))["lagging"] is False


# -- degrade per method --------------------------------------------------------------------


async def test_degrade_one_method_slows_only_that_method(
    provider: MockProvider, http: aiohttp.ClientSession, clients: OpenClient
) -> None:
    url = provider.url
    logs_filter = {"fromBlock": hex(FIRST - 10), "toBlock": hex(FIRST)}
    await provider.degrade(0.3, method="eth_getLogs")
    await provider.degrade(0.2, method="eth_getBlockByNumber")
    assert provider.faults == FaultState(
        method_latency=MappingProxyType({"eth_getLogs": 0.3, "eth_getBlockByNumber": 0.2}),
        method_jitter=MappingProxyType({"eth_getLogs": 0.0, "eth_getBlockByNumber": 0.0}),
    )
    client = await clients(provider)
    (
        (t_logs, _),
        (t_block, _),
        (t_chain, _),
        (t_health, _),
        (t_batch, _),
        (t_ws, _),
        (
            t_ws_fast,
            _,
        ),
    ) = await asyncio.gather(
        timed(result(http, url, "eth_getLogs", logs_filter)),
        timed(result(http, url, "eth_getBlockByNumber", "latest")),
        timed(result(http, url, "eth_chainId")),
        timed(health(http, url)),
        timed(post(http, url, [rpc("eth_chainId", rid=1), rpc("eth_getLogs", logs_filter)])),
        timed(client.call("eth_getLogs", logs_filter)),
        timed(client.call("eth_chainId")),
    )
    assert t_logs >= 0.3 and t_batch >= 0.3 and t_ws >= 0.3
    assert 0.2 <= t_block < 0.3 + FAST
    # a method left alone never waits for a degrade (the smallest here is 0.2 s)
    assert max(t_chain, t_health, t_ws_fast) < FAST, (t_chain, t_health, t_ws_fast)

    await provider.degrade(0, method="eth_getLogs")
    assert dict(provider.faults.method_latency) == {"eth_getBlockByNumber": 0.2}
    await provider.degrade(0.1)  # the global degrade adds to the per-method one
    (t_logs, _), (t_block, _) = await asyncio.gather(
        timed(result(http, url, "eth_getLogs", logs_filter)),
        timed(result(http, url, "eth_getBlockByNumber", "latest")),
    )
    assert 0.1 <= t_logs < 0.3  # the global 0.1 s only: with its cleared 0.3 s it would be 0.4
    assert t_block >= 0.3
    body = await health(http, url)
    assert body["faults"] == {
        "degrade": {"latency": 0.1, "jitter": 0.0},
        "degrade_methods": {"eth_getBlockByNumber": {"latency": 0.2, "jitter": 0.0}},
    }


# -- restore ---------------------------------------------------------------------------------


async def test_restore_clears_every_fault_at_once(
    provider: MockProvider, chain: MockChain, http: aiohttp.ClientSession
) -> None:
    await provider.degrade(0.05, 0.01)
    await provider.degrade(0.3, method="eth_chainId")
    await provider.errors(0.5, "rate-limit", retry_after=3)
    frozen = await provider.lag()
    await provider.hang()
    await provider.flap(down=0.1, up=0.1)
    faults = provider.faults
    assert faults.active and faults.killed and faults.flapping and faults.hung
    assert faults.lagging and faults.lag_head == frozen and faults.error_rate == 0.5
    assert faults.added_latency == 0.05 and dict(faults.method_latency) == {"eth_chainId": 0.3}

    await provider.restore()
    assert provider.faults == FaultState() and not provider.faults.active
    await wait_until(lambda: chain.head_number() > frozen, what="a block after the lag")
    for _ in range(10):
        elapsed, (status, _, body) = await timed(post(http, provider.url, rpc("eth_chainId")))
        assert status == 200 and body["result"] == "0x5" and elapsed < FAST
    assert int(await result(http, provider.url, "eth_blockNumber"), 16) > frozen
    assert (await health(http, provider.url))["faults"] == {}
    await asyncio.sleep(0.25)  # longer than a flap cycle: it must stay up
    assert (await health(http, provider.url))["faults"] == {}


async def test_health_lists_the_active_faults(
    provider: MockProvider, http: aiohttp.ClientSession
) -> None:
    await provider.errors(0.25, "rate-limit", retry_after=2)
    await provider.degrade(0.01, method="eth_getLogs")
    frozen = await provider.lag()
    body = await health(http, provider.url)
    assert body == {
        "status": "ok",
        "id": "alpha",
        "head": frozen,
        "lagging": True,
        "faults": {
            "degrade_methods": {"eth_getLogs": {"latency": 0.01, "jitter": 0.0}},
            "errors": {"rate": 0.25, "kind": "rate-limit", "code": -32005, "retry_after": 2},
            "lag": {"head": frozen},
        },
    }


# -- eth_getLogs -----------------------------------------------------------------------------

RANGE = {"fromBlock": hex(FIRST - 300), "toBlock": hex(FIRST)}


async def test_get_logs_has_geths_shape(
    provider: MockProvider, chain: MockChain, http: aiohttp.ClientSession
) -> None:
    logs = await result(http, provider.url, "eth_getLogs", RANGE)
    assert len(logs) > 100  # 0-3 per block over 301 blocks
    for log in logs:
        assert list(log) == GETH_LOG_KEYS
        assert ADDRESS.match(log["address"]) and log["address"] in chain.contracts
        assert 1 <= len(log["topics"]) <= 3 and all(HASH32.match(t) for t in log["topics"])
        assert re.match(r"^0x([0-9a-f]{64})+$", log["data"])
        for key in ("blockNumber", "transactionIndex", "logIndex"):
            assert QUANTITY.match(log[key]), key
        assert HASH32.match(log["transactionHash"])
        assert log["blockHash"] == chain.hash_of(int(log["blockNumber"], 16))
        assert log["removed"] is False
    by_block: dict[str, list[int]] = {}
    for log in logs:
        by_block.setdefault(log["blockNumber"], []).append(int(log["logIndex"], 16))
    assert all(indexes == list(range(len(indexes))) for indexes in by_block.values())
    numbers = [int(log["blockNumber"], 16) for log in logs]
    assert numbers == sorted(numbers) and numbers[0] >= FIRST - 300 and numbers[-1] <= FIRST
    assert len(logs) == len({log["transactionHash"] for log in logs})


async def test_get_logs_is_deterministic(
    provider: MockProvider, clients: OpenClient, http: aiohttp.ClientSession
) -> None:
    twin, other = await started(new_chain(11), "beta"), await started(new_chain(12), "gamma")
    try:
        ours = await result(http, provider.url, "eth_getLogs", RANGE)
        assert await result(http, twin.url, "eth_getLogs", RANGE) == ours
        assert await result(http, other.url, "eth_getLogs", RANGE) != ours
        client = await clients(provider)
        assert await client.call("eth_getLogs", RANGE) == ours  # and over WebSocket
    finally:
        await twin.stop()
        await other.stop()


async def test_get_logs_filters_by_address_and_topics(
    provider: MockProvider, chain: MockChain, http: aiohttp.ClientSession
) -> None:
    url = provider.url
    every = await result(http, url, "eth_getLogs", RANGE)

    async def only(**criteria: object) -> list[Json]:
        logs: list[Json] = await result(http, url, "eth_getLogs", {**RANGE, **criteria})
        return logs

    first, second = chain.contracts[:2]
    assert await only(address=first) == [log for log in every if log["address"] == first]
    assert await only(address=first.upper().replace("0X", "0x")) == await only(address=first)
    assert await only(address=[first, second]) == [
        log for log in every if log["address"] in (first, second)
    ]
    assert await only(address=[]) == every
    transfers = [log for log in every if log["topics"][0] == TRANSFER_TOPIC]
    assert transfers and await only(topics=[TRANSFER_TOPIC]) == transfers
    assert await only(topics=[[TRANSFER_TOPIC, APPROVAL_TOPIC]]) == [
        log for log in every if log["topics"][0] in (TRANSFER_TOPIC, APPROVAL_TOPIC)
    ]
    receiver = transfers[0]["topics"][2]
    assert await only(topics=[None, None, receiver]) == [
        log for log in every if len(log["topics"]) > 2 and log["topics"][2] == receiver
    ]
    approvals = [log for log in every if log["topics"][0] == APPROVAL_TOPIC]
    assert approvals and await only(topics=[APPROVAL_TOPIC]) == approvals
    assert await only(topics=[TRANSFER_TOPIC, None, None, None]) == []  # more than it has
    assert await only(address=first, topics=[[]]) == await only(address=first)


async def test_get_logs_ranges_and_errors(
    provider: MockProvider, chain: MockChain, http: aiohttp.ClientSession
) -> None:
    url = provider.url
    assert isinstance(
        await result(http, url, "eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x3e8"}), list
    )
    assert await rpc_error(http, url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "0x3e8"}) == {
        "code": -32602,
        "message": "block range too large: 1001 blocks, at most 1000",
    }
    assert await rpc_error(http, url, "eth_getLogs", {"fromBlock": "earliest"}) == {
        "code": -32602,
        "message": f"block range too large: {chain.head_number() + 1} blocks, at most 1000",
    }
    assert await rpc_error(
        http, url, "eth_getLogs", {"fromBlock": "0x3e8", "toBlock": "0x3e7"}
    ) == {"code": -32000, "message": "invalid block range params"}
    assert await result(http, url, "eth_getLogs", {"fromBlock": hex(10**9)}) == []
    clamped = await result(
        http, url, "eth_getLogs", {"fromBlock": hex(FIRST), "toBlock": "0xffffff"}
    )
    assert all(int(log["blockNumber"], 16) <= chain.head_number() for log in clamped)
    latest = await result(http, url, "eth_getLogs", {})  # latest..latest
    assert all(log["blockNumber"] == latest[0]["blockNumber"] for log in latest)

    block = next(n for n in range(FIRST, FIRST - 50, -1) if chain.logs(n))
    by_hash = await result(http, url, "eth_getLogs", {"blockHash": chain.hash_of(block)})
    assert by_hash == [log.to_json() for log in chain.logs(block)]
    unknown = await rpc_error(http, url, "eth_getLogs", {"blockHash": "0x" + "ab" * 32})
    assert unknown == {"code": -32000, "message": "unknown block"}
    bad: list[Any]
    for bad in (
        [],
        [{"blockHash": chain.hash_of(block), "fromBlock": "0x1"}],
        [{"address": "0x1234"}],
        [{"topics": [None] * 5}],
        [{"topics": ["0x12"]}],
        [{"fromBlock": "soon"}],
        ["0x1"],
        [{}, {}],
    ):
        error = await rpc_error(http, url, "eth_getLogs", *bad)
        assert error["code"] == -32602, (bad, error)
