"""Mock providers over WebSocket: JSON-RPC, ``newHeads`` subscriptions and the faults.

Real sockets and a real (fast) chain; every wait is on a condition with a bounded deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from helpers.waiting import wait_until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from battletui.chain import MockChain
from battletui.protocol.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, PARSE_ERROR
from battletui.providers import MockProvider, ws_app
from battletui.providers.head_feed import HeadFeed
from battletui.scenario import ProviderSpec

FILL_DEADLINE = 30.0
"""Bound for a socket buffer to fill on a machine with large TCP buffers."""
DEADLINE = 5.0
BLOCK_TIME = 0.1
FIRST = 1000
BODY_FIELDS = {"transactions", "uncles", "size", "totalDifficulty", "withdrawals"}
SUBSCRIPTION_ID = re.compile(r"0x[0-9a-f]{32}")

Json = Any


class StartClock:
    """``time.monotonic``, remembering its first reading: when the chain's block 1000 began."""

    def __init__(self) -> None:
        self.start: float | None = None

    def __call__(self) -> float:
        now = time.monotonic()
        if self.start is None:
            self.start = now
        return now

    def due(self, number: int) -> float:
        """When block ``number`` becomes the head, on ``time.monotonic``."""
        assert self.start is not None
        return self.start + (number - FIRST) * BLOCK_TIME


@pytest.fixture
def clock() -> StartClock:
    return StartClock()


@pytest.fixture
def chain(clock: StartClock) -> MockChain:
    return MockChain(7, chain_id=5, block_time=BLOCK_TIME, clock=clock, first_block=FIRST)


async def started(chain: MockChain, name: str = "alpha", **kwargs: Any) -> MockProvider:
    provider = MockProvider(ProviderSpec(name, latency=0.0), chain, seed=3, **kwargs)
    await provider.start()
    return provider


@pytest.fixture
async def provider(chain: MockChain) -> AsyncIterator[MockProvider]:
    p = await started(chain)
    yield p
    await p.stop()


class Client:
    """A WebSocket JSON-RPC client: answers by id, notifications with their arrival time."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.notes: asyncio.Queue[tuple[float, Json]] = asyncio.Queue()
        self._answers: dict[object, asyncio.Future[Json]] = {}
        self._batches: asyncio.Queue[Json] = asyncio.Queue()
        self._next_id = 1
        self.closed_by: ConnectionClosed | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            await self._read_messages()
        except ConnectionClosed as exc:  # the close codes are on ``conn``
            self.closed_by = exc

    async def _read_messages(self) -> None:
        async for raw in self.conn:
            message = json.loads(raw)
            if isinstance(message, list):
                self._batches.put_nowait(message)
            elif "id" in message:
                future = self._answers.pop(message["id"], None)
                if future is not None:
                    future.set_result(message)
            else:
                self.notes.put_nowait((time.monotonic(), message))

    async def request(self, payload: Json) -> Json:
        """Send ``payload`` (an object with an id) and wait for the answer with that id."""
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._answers[payload["id"]] = future
        await self.conn.send(json.dumps(payload))
        return await asyncio.wait_for(future, DEADLINE)

    async def call_raw(self, method: str, *params: object) -> Json:
        self._next_id += 1
        payload = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        return await self.request(payload)

    async def call(self, method: str, *params: object) -> Json:
        answer = await self.call_raw(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    async def error(self, method: str, *params: object) -> Json:
        answer = await self.call_raw(method, *params)
        assert "result" not in answer, answer
        return answer["error"]

    async def batch(self, payload: list[Json]) -> Json:
        await self.conn.send(json.dumps(payload))
        return await asyncio.wait_for(self._batches.get(), DEADLINE)

    async def subscribe(self) -> str:
        sid = await self.call("eth_subscribe", "newHeads")
        assert isinstance(sid, str)
        return sid

    async def next_note(self) -> tuple[float, Json]:
        at, note = await asyncio.wait_for(self.notes.get(), DEADLINE)
        assert note["jsonrpc"] == "2.0" and note["method"] == "eth_subscription"
        assert set(note) == {"jsonrpc", "method", "params"}
        assert set(note["params"]) == {"subscription", "result"}
        return at, note

    async def heads(self, count: int, sid: str | None = None) -> list[tuple[float, Json]]:
        """The next ``count`` notifications (of ``sid`` when given): arrival time, header."""
        out: list[tuple[float, Json]] = []
        while len(out) < count:
            at, note = await self.next_note()
            if sid is None or note["params"]["subscription"] == sid:
                out.append((at, note["params"]["result"]))
        return out

    def forget_notes(self) -> None:
        """Drop the notifications received so far."""
        while not self.notes.empty():
            self.notes.get_nowait()

    async def closed(self) -> None:
        """Wait until the connection is gone, however it went."""
        await asyncio.wait([self.reader], timeout=DEADLINE)
        assert self.reader.done(), "the connection is still open"

    async def close(self) -> None:
        await self.conn.close()
        await asyncio.wait([self.reader], timeout=DEADLINE)


OpenClient = Callable[[MockProvider], Awaitable[Client]]


@pytest.fixture
async def clients() -> AsyncIterator[OpenClient]:
    opened: list[Client] = []

    async def open_client(provider: MockProvider) -> Client:
        conn = await connect(provider.ws_url, open_timeout=DEADLINE)
        client = Client(conn)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


def number(header: Json) -> int:
    return int(header["number"], 16)


def was_reset(client: Client) -> bool:
    """True when the connection died of a TCP reset, without any close frame."""
    cause = client.closed_by.__cause__ if client.closed_by is not None else None
    return (
        isinstance(cause, ConnectionResetError)
        and client.conn.protocol.close_rcvd is None
        and client.conn.close_code == 1006
    )


# -- subscriptions -------------------------------------------------------------------------


async def test_new_heads_one_per_block_in_order(
    provider: MockProvider, chain: MockChain, clients: OpenClient
) -> None:
    assert provider.ws_url == f"ws://127.0.0.1:{provider.port}"
    client = await clients(provider)
    await wait_until(
        lambda: chain.head_number() >= FIRST + 2, what="a few blocks of history", interval=0.002
    )
    before = chain.head_number()
    first_sid = await client.subscribe()
    after = chain.head_number()
    second_sid = await client.subscribe()
    assert SUBSCRIPTION_ID.fullmatch(first_sid) and SUBSCRIPTION_ID.fullmatch(second_sid)
    assert first_sid != second_sid
    assert provider.subscriptions == 2 and provider.ws_connections == 1

    heads = [header for _, header in await client.heads(5, first_sid)]
    # No replay: the first notification is the block after the head at subscription time.
    assert before + 1 <= number(heads[0]) <= after + 1
    for previous, current in itertools.pairwise(heads):
        assert number(current) == number(previous) + 1
        assert current["parentHash"] == previous["hash"]
    for header in heads:
        block = chain.block(number(header))
        assert block is not None and header == block.header_json()
        assert header["hash"] == chain.hash_of(number(header))
        assert not BODY_FIELDS & set(header)
        expected = {"hash", "parentHash", "number", "timestamp", "withdrawalsRoot", "stateRoot"}
        assert expected <= set(header)
        assert set(header) == set(block.to_json()) - BODY_FIELDS


async def test_a_stalled_loop_skips_and_repeats_nothing(
    provider: MockProvider, clients: OpenClient
) -> None:
    client = await clients(provider)
    sid = await client.subscribe()
    await client.heads(1, sid)
    time.sleep(4.5 * BLOCK_TIME)  # block the event loop: the head moves on by 4 or 5 blocks
    heads = [number(h) for _, h in await client.heads(8, sid)]
    assert heads == list(range(heads[0], heads[0] + 8))


def test_head_feed_catches_up_in_order() -> None:
    now = [0.0]
    chain = MockChain(7, block_time=1.0, clock=lambda: now[0])
    feed = HeadFeed(chain, seed=3, provider_id="alpha")
    got: list[int] = []
    sid = feed.subscribe(lambda text: got.append(number(json.loads(text)["params"]["result"])))
    assert chain.seconds_until(FIRST + 1) == 1.0
    now[0] = 5.5
    assert chain.seconds_until(FIRST + 6) == 0.5 and chain.seconds_until(FIRST + 5) == 0.0
    feed.catch_up()
    feed.catch_up()
    assert got == [1001, 1002, 1003, 1004, 1005]
    late_sid = feed.subscribe(lambda text: got.append(-1))  # from the next block on
    now[0] = 6.0
    feed.catch_up()
    assert got[-2:] == [1006, -1] and feed.count == 2
    assert feed.unsubscribe(sid) and feed.unsubscribe(late_sid) and not feed.unsubscribe(sid)


async def test_subscription_ids_are_seeded(chain: MockChain, clients: OpenClient) -> None:
    ids = []
    for _ in range(2):
        p = await started(chain)
        try:
            client = await clients(p)
            ids.append(await client.subscribe())
            await client.close()
        finally:
            await p.stop()
    assert ids[0] == ids[1]


async def test_unsubscribe(provider: MockProvider, clients: OpenClient) -> None:
    client = await clients(provider)
    other = await clients(provider)
    gone = await client.subscribe()
    kept = await client.subscribe()
    foreign = await other.subscribe()
    assert await client.call("eth_unsubscribe", foreign) is False  # not this connection's
    assert await client.call("eth_unsubscribe", gone) is True
    assert await client.call("eth_unsubscribe", gone) is False
    assert await client.call("eth_unsubscribe", "0x" + "0" * 32) is False
    assert provider.subscriptions == 2
    client.forget_notes()  # what was sent before the unsubscribe's answer
    for _ in range(3):
        _, note = await client.next_note()
        assert note["params"]["subscription"] == kept
    await other.heads(1, foreign)  # the foreign subscription was left alone


@pytest.mark.parametrize(
    "params",
    [
        ["syncing"],
        ["garbage"],
        [42],
        [],
        ["newHeads", {"includeTransactions": True}],
        ["logs", "everything"],
        ["logs", {"address": "0x12"}],
        ["newPendingTransactions", "yes"],
    ],
)
async def test_bad_subscriptions_are_invalid_params(
    provider: MockProvider, clients: OpenClient, params: list[object]
) -> None:
    client = await clients(provider)
    error = await client.error("eth_subscribe", *params)
    assert error["code"] == INVALID_PARAMS
    if params and params[0] in ("syncing", "garbage"):
        assert f'no "{params[0]}" subscription' in error["message"]
    assert provider.subscriptions == 0


async def test_missing_params(provider: MockProvider, clients: OpenClient) -> None:
    client = await clients(provider)
    for method in ("eth_subscribe", "eth_unsubscribe"):
        answer = await client.request({"jsonrpc": "2.0", "id": 9, "method": method})
        assert answer["error"]["code"] == INVALID_PARAMS


async def test_every_http_method_and_batches_answer_the_same(
    provider: MockProvider, clients: OpenClient
) -> None:
    client = await clients(provider)
    assert await client.call("eth_chainId") == "0x5"
    assert int(await client.call("eth_blockNumber"), 16) >= FIRST
    block = await client.call("eth_getBlockByNumber", "0x3e8", False)
    assert block["number"] == "0x3e8" and "transactions" in block
    assert (await client.error("eth_nope"))["code"] == METHOD_NOT_FOUND

    batch: list[Json] = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "net_version", "params": []},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBlockByNumber", "params": ["0x3e8"]},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_getBlockByNumber", "params": ["soon"]},
        {"jsonrpc": "2.0", "id": 5, "method": "web3_clientVersion"},
        {"jsonrpc": "2.0", "id": 6, "method": "eth_nope"},
        {"jsonrpc": "2.0", "method": "eth_chainId"},  # a notification: no answer
        {"id": 7, "method": "eth_chainId"},  # invalid request
        42,
    ]
    over_ws = await client.batch(batch)
    async with (
        aiohttp.ClientSession() as session,
        session.post(provider.url, json=batch) as resp,
    ):
        over_http = await resp.json()
    assert over_ws == over_http and len(over_ws) == 8

    # A subscription inside a batch works, and its heads follow the batch's answer.
    answers = await client.batch(
        [{"jsonrpc": "2.0", "id": 10, "method": "eth_subscribe", "params": ["newHeads"]}]
    )
    sid = answers[0]["result"]
    assert SUBSCRIPTION_ID.fullmatch(sid)
    await client.heads(1, sid)


async def test_parse_error_and_http_refuses_subscriptions(
    provider: MockProvider, clients: OpenClient
) -> None:
    client = await clients(provider)
    await client.conn.send("{not json")
    future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
    client._answers[None] = future
    answer = await asyncio.wait_for(future, DEADLINE)
    assert answer["error"]["code"] == PARSE_ERROR and answer["id"] is None
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(provider.url, json=request) as resp,
    ):
        body = await resp.json()
    assert body["error"] == {"code": METHOD_NOT_FOUND, "message": "notifications not supported"}
    async with aiohttp.ClientSession() as session, session.get(provider.url + "/") as resp:
        assert resp.status == 405  # a plain GET is still not JSON-RPC


async def test_error_rate_one_fails_each_batch_member_and_skips_notifications(
    chain: MockChain, clients: OpenClient
) -> None:
    provider = MockProvider(ProviderSpec("gamma", latency=0.0, error_rate=1.0), chain, seed=3)
    await provider.start()
    try:
        client = await clients(provider)
        stray: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        client._answers[None] = stray  # an error with a null id would land here
        note = {"jsonrpc": "2.0", "method": "eth_chainId"}
        error = {"code": -32603, "message": "internal error (injected by battletui)"}
        answers = await client.batch(
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
                note,
                {"jsonrpc": "2.0", "id": "two", "method": "eth_chainId"},
            ]
        )
        assert answers == [
            {"jsonrpc": "2.0", "id": 1, "error": error},
            {"jsonrpc": "2.0", "id": "two", "error": error},
        ]
        await client.conn.send(json.dumps([note, note]))
        await client.conn.send(json.dumps(note))
        # Answers leave in order: anything sent for the notifications would come first.
        assert await client.error("eth_chainId") == error
        assert not stray.done()
        assert client._batches.empty()
    finally:
        await provider.stop()


async def test_two_providers_on_one_chain_agree(chain: MockChain, clients: OpenClient) -> None:
    alpha = await started(chain, "alpha")
    beta = await started(chain, "beta")
    try:
        a, b = await clients(alpha), await clients(beta)
        await a.subscribe()
        await b.subscribe()
        from_a = {number(h): h for _, h in await a.heads(4)}
        from_b = {number(h): h for _, h in await b.heads(4)}
        common = from_a.keys() & from_b.keys()
        assert len(common) >= 3
        for n in common:
            assert from_a[n] == from_b[n]
    finally:
        await alpha.stop()
        await beta.stop()


# -- faults --------------------------------------------------------------------------------


async def test_degrade_delays_heads_without_reordering(
    provider: MockProvider, clock: StartClock, clients: OpenClient
) -> None:
    client = await clients(provider)
    sid = await client.subscribe()
    prompt = await client.heads(3, sid)
    assert all(at - clock.due(number(h)) < 0.08 for at, h in prompt)

    latency, jitter = 0.3, 0.15  # jitter wider than a block: unordered sends would show it
    await provider.degrade(latency, jitter)
    client.forget_notes()
    late = await client.heads(10, sid)
    numbers = [number(h) for _, h in late]
    assert numbers == list(range(numbers[0], numbers[0] + 10))  # strictly in order
    lateness = [at - clock.due(number(h)) for at, h in late]
    assert min(lateness) >= latency - jitter - 0.01, lateness
    assert max(lateness) <= latency + jitter + 0.15, lateness
    assert sum(lateness) / len(lateness) >= latency - 0.05, lateness
    arrivals = [at for at, _ in late]
    assert arrivals == sorted(arrivals)

    await provider.restore()
    client.forget_notes()
    # What was already queued still leaves late (and first); then heads are prompt again.
    fresh = await client.heads(9, sid)
    assert all(at - clock.due(number(h)) < 0.08 for at, h in fresh[-3:]), [
        (number(h), at - clock.due(number(h))) for at, h in fresh
    ]


async def test_kill_resets_subscribers_and_restore_serves_again(
    provider: MockProvider, clients: OpenClient
) -> None:
    client = await clients(provider)
    await client.subscribe()
    await client.heads(1)
    await provider.kill()
    assert provider.ws_connections == 0 and provider.subscriptions == 0
    await client.closed()
    assert was_reset(client), (client.closed_by, client.conn.close_code)
    with pytest.raises(OSError):
        await connect(provider.ws_url, open_timeout=DEADLINE)

    await provider.restore()
    again = await clients(provider)
    sid = await again.subscribe()
    await again.heads(2, sid)


async def test_ws_drop_closes_with_1001_and_keeps_http(
    provider: MockProvider, clients: OpenClient
) -> None:
    assert await provider.ws_drop() == 0
    subscribers = [await clients(provider) for _ in range(2)]
    for client in subscribers:
        await client.subscribe()
        await client.heads(1)
    assert provider.ws_connections == 2

    assert await provider.ws_drop() == 2
    for client in subscribers:
        await client.closed()
        rcvd = client.conn.protocol.close_rcvd
        assert rcvd is not None and rcvd.code == 1001
    assert provider.ws_connections == 0 and provider.subscriptions == 0
    assert not provider.faults.killed

    async with (
        aiohttp.ClientSession() as session,
        session.get(provider.url + "/health") as resp,
    ):
        assert resp.status == 200
    again = await clients(provider)
    sid = await again.subscribe()
    await again.heads(2, sid)
    assert provider.ws_connections == 1 and provider.subscriptions == 1


async def test_flap_resets_subscribers(provider: MockProvider, clients: OpenClient) -> None:
    client = await clients(provider)
    await client.subscribe()
    await client.heads(1)
    await provider.flap(down=0.1, up=0.1, cycles=1)
    await client.closed()
    assert was_reset(client), (client.closed_by, client.conn.close_code)
    await wait_until(lambda: not provider.faults.flapping, what="the flap to end", interval=0.002)
    again = await clients(provider)
    await again.subscribe()
    await again.heads(2)


async def test_slow_reader_is_dropped_at_the_queue_bound(
    clients: OpenClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_app, "CLOSE_TIMEOUT", DEADLINE)  # room to read up to the close
    fast_chain = MockChain(7, block_time=0.02)
    subscriptions = 40  # 40 heads per block: the socket buffers fill within a second
    provider = await started(fast_chain, ws_queue_limit=2 * subscriptions)
    try:
        # The good reader takes one head a block: with forty it would be a second slow
        # reader on a busy machine (this test's own loop reads it), and be dropped too.
        good = await clients(provider)
        good_sid = await good.subscribe()
        # A reader that stops reading: tiny receive buffer, no client-side queue.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", provider.port))
        async with connect(provider.ws_url, sock=sock, compression=None, max_queue=1) as slow:
            for i in range(subscriptions):
                request = {"jsonrpc": "2.0", "id": i, "method": "eth_subscribe"}
                await slow.send(json.dumps({**request, "params": ["newHeads"]}))
            await wait_until(
                lambda: provider.subscriptions == 1 + subscriptions,
                what="subscriptions",
                interval=0.002,
            )
            # ... and it reads nothing more until it has been dropped. How long the kernel's
            # send buffer takes to fill depends on the machine's TCP autotuning (1.6 s here,
            # over 5 s on a CI runner), so this wait has a generous bound of its own.
            await wait_until(
                lambda: provider.subscriptions == 1,
                what="the slow reader's drop",
                timeout=FILL_DEADLINE,
                interval=0.002,
            )
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(slow.recv(), DEADLINE)
            rcvd = slow.protocol.close_rcvd
            assert rcvd is not None and rcvd.code == 1008, rcvd
            assert "too slow" in rcvd.reason
        await wait_until(
            lambda: provider.ws_connections == 1, what="the slow socket to close", interval=0.002
        )
        await good.heads(2 * subscriptions, good_sid)  # the bound is per connection
    finally:
        await provider.stop()


async def test_stop_closes_websockets_cleanly(
    chain: MockChain, clients: OpenClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    provider = await started(chain)
    client = await clients(provider)
    await client.subscribe()
    await client.heads(1)
    await provider.stop()
    await client.closed()
    rcvd = client.conn.protocol.close_rcvd
    assert rcvd is not None and rcvd.code == 1001
    assert provider.ws_connections == 0 and provider.subscriptions == 0
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith(("heads-", "ws-"))]
    assert pending == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
