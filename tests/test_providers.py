"""Mock providers over real sockets: JSON-RPC edge cases, methods, and faults that really bite.

Waits are on conditions with bounded deadlines; the only fixed sleep checks that a restored
provider *stays* up, which no condition can show.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from helpers.waiting import wait_until

from battletui.chain import MockChain
from battletui.protocol.faults import FaultState
from battletui.providers import MockProvider
from battletui.providers.latency import DelayModel
from battletui.scenario import ProviderSpec

DEADLINE = 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def chain(clock: FakeClock) -> MockChain:
    return MockChain(11, chain_id=5, clock=clock, genesis_timestamp=1_700_000_000)


@pytest.fixture
async def provider(chain: MockChain) -> AsyncIterator[MockProvider]:
    p = MockProvider(ProviderSpec("alpha", latency=0.0), chain, seed=3)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def post(
    session: aiohttp.ClientSession, url: str, payload: object | bytes
) -> tuple[int, object]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    async with session.post(url, data=data, headers=headers) as resp:
        body = await resp.read()
        return resp.status, (json.loads(body) if body else None)


async def call(session: aiohttp.ClientSession, url: str, method: str, *params: object) -> object:
    status, body = await post(
        session, url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    )
    assert status == 200
    assert isinstance(body, dict) and body["id"] == 1 and "error" not in body, body
    return body["result"]


async def error_code(session: aiohttp.ClientSession, url: str, payload: object | bytes) -> int:
    status, body = await post(session, url, payload)
    assert status == 200 and isinstance(body, dict), body
    code = body["error"]["code"]
    assert isinstance(code, int)
    return code


async def refused(port: int) -> bool:
    """True when a TCP connect to ``port`` fails, False when it is accepted.

    A connect racing a flap's down transition can complete the handshake and then be reset
    before the loop sees it; that is "down" too.
    """
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    writer.transport.abort()
    return False


def raw_request(body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


BLOCK_NUMBER = {"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber"}


# -- methods -----------------------------------------------------------------------------


async def test_every_method_answers(
    provider: MockProvider, session: aiohttp.ClientSession, chain: MockChain, clock: FakeClock
) -> None:
    url = provider.url
    assert url == f"http://127.0.0.1:{provider.port}" and provider.port > 0
    assert await call(session, url, "eth_chainId") == "0x5"
    assert await call(session, url, "net_version") == "5"
    assert await call(session, url, "eth_blockNumber") == "0x3e8"
    clock.now += 3.5
    assert await call(session, url, "eth_blockNumber") == "0x3eb"
    version = await call(session, url, "web3_clientVersion")
    assert isinstance(version, str) and version.startswith("Geth/")
    assert version.endswith("battletui-mock/alpha")
    assert await call(session, url, "eth_syncing") is False
    assert await call(session, url, "net_peerCount") == "0x19"

    latest = await call(session, url, "eth_getBlockByNumber", "latest", False)
    assert latest == chain.head().to_json()
    full = await call(session, url, "eth_getBlockByNumber", "pending", True)
    assert full == chain.head().to_json(full_transactions=True)
    assert [tx["hash"] for tx in full["transactions"]] == latest["transactions"]
    expectations = {"earliest": 0, "safe": 1003 - 32, "finalized": 1003 - 64, "0x3e8": 1000}
    for tag, number in expectations.items():
        block = await call(session, url, "eth_getBlockByNumber", tag, False)
        assert isinstance(block, dict) and block["number"] == hex(number), tag
    assert await call(session, url, "eth_getBlockByNumber", "0x3ec", False) is None

    by_hash = await call(session, url, "eth_getBlockByHash", chain.hash_of(1001), False)
    assert isinstance(by_hash, dict) and by_hash["number"] == "0x3e9"
    assert await call(session, url, "eth_getBlockByHash", "0x" + "12" * 32, False) is None


async def test_health(provider: MockProvider, session: aiohttp.ClientSession) -> None:
    async with session.get(provider.url + "/health") as resp:
        assert resp.status == 200
        assert await resp.json() == {
            "status": "ok",
            "id": "alpha",
            "head": 1000,
            "lagging": False,
            "faults": {},
        }
    assert provider.served == 1


# -- JSON-RPC envelope edge cases ----------------------------------------------------------


async def test_unknown_method(provider: MockProvider, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, provider.url, {"jsonrpc": "2.0", "id": 2, "method": "x_y"})
    assert status == 200
    assert body == {
        "jsonrpc": "2.0",
        "id": 2,
        "error": {"code": -32601, "message": "the method x_y does not exist/is not available"},
    }


async def test_parse_error_has_null_id(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    for raw in (b'{"jsonrpc": "2.0", "method"', b"\xff\xfe", b""):
        status, body = await post(session, provider.url, raw)
        assert status == 200 and isinstance(body, dict)
        assert body["id"] is None and body["error"]["code"] == -32700


@pytest.mark.parametrize(
    "payload",
    [
        1,
        "eth_chainId",
        None,
        {"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"},
        {"id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": "bar"},
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "eth_chainId"},
    ],
)
async def test_invalid_request(
    provider: MockProvider, session: aiohttp.ClientSession, payload: object
) -> None:
    assert await error_code(session, provider.url, payload) == -32600


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_chainId", [1]),
        ("eth_getBlockByNumber", []),
        ("eth_getBlockByNumber", [1000, False]),
        ("eth_getBlockByNumber", ["0xzz", False]),
        ("eth_getBlockByNumber", ["latest", "yes"]),
        ("eth_getBlockByNumber", ["latest", False, 3]),
        ("eth_getBlockByNumber", {"block": "latest"}),
        ("eth_getBlockByHash", ["0x1234", False]),
    ],
)
async def test_invalid_params(
    provider: MockProvider, session: aiohttp.ClientSession, method: str, params: object
) -> None:
    payload = {"jsonrpc": "2.0", "id": 3, "method": method, "params": params}
    assert await error_code(session, provider.url, payload) == -32602


async def test_batch_answers_each_member(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
        {"jsonrpc": "2.0", "method": "eth_chainId"},  # notification: no answer
        1,
        {"jsonrpc": "2.0", "id": "b", "method": "nope"},
        {"jsonrpc": "2.0", "id": "c", "method": "net_version", "params": []},
    ]
    status, body = await post(session, provider.url, batch)
    assert status == 200 and isinstance(body, list) and len(body) == 4
    by_id = {item["id"]: item for item in body}
    assert by_id["a"]["result"] == "0x5"
    assert by_id["b"]["error"]["code"] == -32601
    assert by_id["c"]["result"] == "5"
    assert by_id[None]["error"]["code"] == -32600


async def test_empty_batch_is_one_invalid_request(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, provider.url, [])
    assert status == 200
    assert isinstance(body, dict) and body["id"] is None and body["error"]["code"] == -32600


async def test_batch_of_invalid_members(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, provider.url, [1, 2, 3])
    assert status == 200 and isinstance(body, list) and len(body) == 3
    assert all(item["error"]["code"] == -32600 and item["id"] is None for item in body)


async def test_notifications_get_nothing(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    note = {"jsonrpc": "2.0", "method": "eth_chainId"}
    bad_note = {"jsonrpc": "2.0", "method": "nope"}
    for payload in (note, [note, bad_note]):
        status, body = await post(session, provider.url, payload)
        assert (status, body) == (204, None)


# -- error rate and latency ------------------------------------------------------------------


async def test_error_rate_one_gives_http_500(
    chain: MockChain, session: aiohttp.ClientSession
) -> None:
    p = MockProvider(ProviderSpec("gamma", latency=0.0, error_rate=1.0), chain)
    await p.start()
    try:
        status, body = await post(session, p.url, BLOCK_NUMBER)
        assert status == 500
        assert isinstance(body, dict) and body["id"] == 7 and body["error"]["code"] == -32603
        async with session.get(p.url + "/health") as resp:
            assert resp.status == 200  # health is not JSON-RPC
    finally:
        await p.stop()


async def test_error_rate_one_fails_each_batch_member_with_http_500(
    chain: MockChain, session: aiohttp.ClientSession
) -> None:
    p = MockProvider(ProviderSpec("gamma", latency=0.0, error_rate=1.0), chain)
    await p.start()
    try:
        note = {"jsonrpc": "2.0", "method": "eth_chainId"}
        batch = [BLOCK_NUMBER, note, {"jsonrpc": "2.0", "id": "b", "method": "eth_chainId"}]
        error = {"code": -32603, "message": "internal error (injected by battletui)"}
        status, body = await post(session, p.url, batch)
        assert status == 500
        assert body == [
            {"jsonrpc": "2.0", "id": 7, "error": error},
            {"jsonrpc": "2.0", "id": "b", "error": error},
        ]
        status, body = await post(session, p.url, [note, note])  # the status says it failed
        assert (status, body) == (500, {"jsonrpc": "2.0", "id": None, "error": error})
        status, body = await post(session, p.url, b"{not json")
        assert (status, body) == (500, {"jsonrpc": "2.0", "id": None, "error": error})
    finally:
        await p.stop()


def test_delays_are_seeded_and_never_negative() -> None:
    spec = ProviderSpec("beta", latency=0.01, jitter=0.02)
    a, b, c = DelayModel(spec, 1), DelayModel(spec, 1), DelayModel(spec, 2)
    seq_a = [a.draw(0.0, 0.0) for _ in range(50)]
    assert seq_a == [b.draw(0.0, 0.0) for _ in range(50)]
    assert seq_a != [c.draw(0.0, 0.0) for _ in range(50)]
    assert min(seq_a) >= 0.0 and max(seq_a) <= 0.03
    assert min(a.draw(0.5, 0.1) for _ in range(50)) >= 0.5 + 0.01 - 0.02 - 0.1


async def test_degrade_adds_latency_and_clears(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    await provider.degrade(0.2)
    assert provider.faults == FaultState(added_latency=0.2)
    started = time.monotonic()
    await call(session, provider.url, "eth_chainId")
    assert time.monotonic() - started >= 0.2
    await provider.degrade(0)
    assert provider.faults == FaultState()
    started = time.monotonic()
    await call(session, provider.url, "eth_chainId")
    assert time.monotonic() - started < 0.2


# -- kill / restore / flap -----------------------------------------------------------------


async def test_kill_refuses_and_resets_open_connections(provider: MockProvider) -> None:
    # An idle keep-alive connection that has already been served once.
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", provider.port)
    idle_writer.write(raw_request(BLOCK_NUMBER))
    assert json.loads(await read_response(idle_reader))["result"] == "0x3e8"
    # A request in flight, held by a long added latency.
    await provider.degrade(1.0)
    busy_reader, busy_writer = await asyncio.open_connection("127.0.0.1", provider.port)
    busy_writer.write(raw_request(BLOCK_NUMBER))

    async def in_flight() -> bool:
        return provider.in_flight == 1

    await wait_until(in_flight)
    started = time.monotonic()
    await provider.kill()
    assert provider.faults.killed
    assert await refused(provider.port)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", provider.port)
    for reader in (idle_reader, busy_reader):
        with pytest.raises(ConnectionResetError):  # RST, not a clean EOF
            await asyncio.wait_for(reader.read(1), DEADLINE)
    assert time.monotonic() - started < 0.5  # not the 1 s latency: the request was cut
    await provider.kill()  # idempotent
    for writer in (idle_writer, busy_writer):
        writer.close()


async def test_kill_fails_pooled_client_requests(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    await call(session, provider.url, "eth_chainId")  # leaves a pooled keep-alive connection
    await provider.degrade(1.0)
    pending = asyncio.ensure_future(post(session, provider.url, BLOCK_NUMBER))

    async def in_flight() -> bool:
        return provider.in_flight == 1

    await wait_until(in_flight)
    await provider.kill()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(pending, DEADLINE)


async def test_restore_answers_on_the_same_port(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    port = provider.port
    await provider.degrade(0.05, 0.01)
    await provider.kill()
    await provider.restore()
    assert provider.port == port
    assert provider.faults == FaultState()
    assert not await refused(port)
    assert await call(session, provider.url, "eth_chainId") == "0x5"
    await provider.restore()  # idempotent
    assert await call(session, provider.url, "net_version") == "5"


async def test_stop_then_start_reuses_the_port(provider: MockProvider) -> None:
    port = provider.port
    await provider.stop()
    await provider.stop()  # idempotent
    assert await refused(port)
    with pytest.raises(RuntimeError):
        await provider.kill()
    await provider.start()
    assert provider.port == port and not await refused(port)


async def test_flap_cycles_and_restore_stops_it(provider: MockProvider) -> None:
    await provider.flap(down=0.1, up=0.1)
    assert provider.faults.flapping and provider.faults.killed
    assert await refused(provider.port)  # the first down phase is in effect on return
    seen = [True]
    deadline = time.monotonic() + DEADLINE
    while seen.count(False) < 2 or seen.count(True) < 3:  # down, up, down, up, down
        assert time.monotonic() < deadline, seen
        state = await refused(provider.port)
        if state != seen[-1]:
            seen.append(state)
            assert provider.faults.flapping
        await asyncio.sleep(0.005)
    await provider.restore()
    assert provider.faults == FaultState()
    assert not await refused(provider.port)
    await asyncio.sleep(0.25)  # longer than a whole cycle: it must stay up
    assert not await refused(provider.port)
    assert provider.faults == FaultState()


async def test_flap_with_cycles_ends_up(provider: MockProvider) -> None:
    await provider.flap(down=0.05, up=0.05, cycles=1)

    async def finished() -> bool:
        return not provider.faults.flapping

    await wait_until(finished)
    assert not provider.faults.killed
    assert not await refused(provider.port)


async def test_kill_stops_a_flap_and_stays_down(provider: MockProvider) -> None:
    await provider.flap(down=0.05, up=0.05)
    await provider.kill()
    assert provider.faults == FaultState(killed=True)
    await asyncio.sleep(0.15)  # a flap would have brought it up by now
    assert await refused(provider.port)


async def test_served_counts_answers(
    provider: MockProvider, session: aiohttp.ClientSession
) -> None:
    for _ in range(3):
        await call(session, provider.url, "eth_chainId")
    assert provider.served == 3 and provider.in_flight == 0
