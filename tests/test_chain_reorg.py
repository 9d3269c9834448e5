"""Reorgs of the mock chain, and how providers announce them to ``newHeads`` subscribers.

The chain tests run on a fake clock; the provider tests on a fast real chain (0.1 s blocks)
over real sockets, with bounded waits on conditions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect

from battletui.chain import MAX_REORG_DEPTH, MockChain
from battletui.chain.mock_chain import CACHE_SIZE, ORPHAN_LIMIT
from battletui.providers import MockProvider
from battletui.scenario import ProviderSpec

DEADLINE = 5.0
BLOCK_TIME = 0.1
PROMPT = 0.05
"""How soon after ``reorg()`` returns the replacement heads must have arrived."""

Json = Any


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(seed: int = 7) -> tuple[MockChain, FakeClock]:
    clock = FakeClock()
    return MockChain(seed, clock=clock, genesis_timestamp=1_700_000_000), clock


# -- the chain ---------------------------------------------------------------------------


def test_reorg_replaces_exactly_the_last_n_blocks() -> None:
    chain, clock = make()
    clock.now += 5  # head 1005
    before = {n: chain.hash_of(n) for n in range(990, 1006)}
    blocks_before = {n: chain.block(n) for n in range(990, 1006)}
    replaced = chain.reorg(3)
    assert [n for n, _, _ in replaced] == [1003, 1004, 1005]
    assert chain.head_number() == 1005  # a reorg does not move the head
    for number, old, new in replaced:
        assert old == before[number] and new != old
        assert chain.hash_of(number) == new
        block = chain.block(number)
        assert block is not None and block.hash == new
        assert block.state_root != blocks_before[number].state_root  # type: ignore[union-attr]
    for number in range(990, 1003):
        assert chain.hash_of(number) == before[number]
        assert chain.block(number) == blocks_before[number]
    assert chain.reorg_count == 1
    assert [chain.generation(n) for n in (1002, 1003, 1005, 1100)] == [0, 1, 1, 1]


def test_parent_links_hold_across_the_fork_and_later_blocks_build_on_it() -> None:
    chain, clock = make()
    clock.now += 5
    replaced = chain.reorg(4)
    fork = chain.block(replaced[0][0])
    assert fork is not None and fork.number == 1002
    assert fork.parent_hash == chain.hash_of(1001)  # the unchanged block below the fork
    clock.now += 3  # three blocks on the new branch
    blocks = [chain.block(n) for n in range(1000, 1009)]
    for parent, child in itertools.pairwise(blocks):
        assert parent is not None and child is not None
        assert child.parent_hash == parent.hash
    later = chain.block(1006)
    assert later is not None and later.parent_hash == replaced[-1][2]


def test_orphaned_hashes_vanish_and_new_ones_are_found() -> None:
    chain, clock = make()
    clock.now += 5
    for number in range(1000, 1006):  # cached before the reorg, findable by hash
        found = chain.block_by_hash(chain.hash_of(number))
        assert found is not None and found.number == number
    replaced = chain.reorg(3)
    for number, old, new in replaced:
        assert chain.block_by_hash(old) is None
        found = chain.block_by_hash(new)
        assert found is not None and found.number == number and found.hash == new
    fresh, _ = make()  # a chain that never cached anything must not find them either
    fresh_clock = fresh._clock
    assert isinstance(fresh_clock, FakeClock)
    fresh_clock.now += 5
    fresh.reorg(3)
    assert all(fresh.block_by_hash(old) is None for _, old, _ in replaced)


def test_orphaned_hashes_are_rejected_without_a_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    chain, clock = make()
    clock.now += 5
    replaced = chain.reorg(3)

    def no_scan(number: int) -> str:
        raise AssertionError(f"scanned block {number}")

    monkeypatch.setattr(chain, "hash_of", no_scan)
    assert all(
        chain.block_by_hash(old.upper().replace("0X", "0x")) is None for _, old, _ in replaced
    )


def test_reorgs_are_deterministic() -> None:
    a, clock_a = make(seed=42)
    b, clock_b = make(seed=42)
    c, clock_c = make(seed=42)
    for clock in (clock_a, clock_b, clock_c):
        clock.now += 5
    assert a.reorg(2) == b.reorg(2)
    c.reorg(3)  # a different reorg: a different chain
    for clock in (clock_a, clock_b, clock_c):
        clock.now += 4
    assert a.reorg(5) == b.reorg(5)
    c.reorg(5)
    for clock in (clock_a, clock_b, clock_c):
        clock.now += 2
    for n in range(995, 1012):
        assert a.block(n) == b.block(n)
    assert a.hash_of(1003) != c.hash_of(1003)  # replaced in c only
    assert a.hash_of(1002) == c.hash_of(1002)  # below every fork
    other_seed, clock_d = make(seed=43)
    clock_d.now += 5
    assert other_seed.reorg(2)[0][2] != make(seed=42)[0].hash_of(1004)


def test_repeated_reorgs_never_reuse_a_hash() -> None:
    chain, clock = make()
    clock.now += 5
    seen = {chain.hash_of(1005)}
    for _ in range(5):
        (_, old, new) = chain.reorg(1)[0]
        assert old in seen and new not in seen
        seen.add(new)
    clock.now += 1
    replaced = chain.reorg(6)  # reaches below the earlier forks
    assert [n for n, _, _ in replaced] == list(range(1001, 1007))
    assert replaced[4][1] in seen and replaced[4][2] not in seen


def test_reorg_validates_depth() -> None:
    chain, _ = make()
    for depth in (0, -1, MAX_REORG_DEPTH + 1):
        with pytest.raises(ValueError):
            chain.reorg(depth)
    shallow = MockChain(1, clock=FakeClock(), first_block=2)
    with pytest.raises(ValueError):
        shallow.reorg(3)  # would replace the genesis block
    assert [n for n, _, _ in shallow.reorg(2)] == [1, 2]


def test_listeners_hear_every_reorg_until_removed() -> None:
    chain, clock = make()
    clock.now += 5
    heard: list[list[tuple[int, str, str]]] = []
    remove = chain.on_reorg(heard.append)
    first = chain.reorg(2)
    remove()
    remove()  # idempotent
    chain.reorg(1)
    assert heard == [first]


def test_memory_stays_bounded_with_many_reorgs() -> None:
    chain, clock = make()
    chain_block_time = chain.block_time
    for _ in range(2 * CACHE_SIZE):
        clock.now += chain_block_time
        chain.head()
        chain.block_by_hash(chain.hash_of(chain.head_number() - 1))
        chain.reorg(2)
    assert len(chain._blocks) <= CACHE_SIZE
    assert len(chain._numbers_by_hash) <= CACHE_SIZE
    assert len(chain._forks) == chain.reorg_count == 2 * CACHE_SIZE  # one int per reorg
    assert len(chain._orphans) <= ORPHAN_LIMIT
    head = chain.head()
    parent = chain.block(head.number - 1)
    assert parent is not None and head.parent_hash == parent.hash


def test_logs_follow_the_reorg() -> None:
    chain, clock = make()
    clock.now += 50
    numbers = [n for n in range(1001, 1051) if chain.logs(n)]
    assert numbers, "some blocks have logs"
    replaced = chain.reorg(50)
    for number, _, new in replaced:
        assert all(log.block_hash == new for log in chain.logs(number))


# -- providers over real sockets -----------------------------------------------------------


class Client:
    """A WebSocket JSON-RPC client: answers by id, notifications queued with arrival time."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.notes: asyncio.Queue[tuple[float, Json]] = asyncio.Queue()
        self._answers: dict[object, asyncio.Future[Json]] = {}
        self._ids = itertools.count(1)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.conn:
            message = json.loads(raw)
            if "id" in message:
                self._answers.pop(message["id"]).set_result(message)
            else:
                self.notes.put_nowait((time.monotonic(), message["params"]["result"]))

    async def call(self, method: str, *params: object) -> Json:
        rid = next(self._ids)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._answers[rid] = future
        payload = {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}
        await self.conn.send(json.dumps(payload))
        answer = await asyncio.wait_for(future, DEADLINE)
        assert "error" not in answer, answer
        return answer["result"]

    async def head(self) -> tuple[float, Json]:
        return await asyncio.wait_for(self.notes.get(), DEADLINE)

    async def close(self) -> None:
        await self.conn.close()
        await asyncio.wait([self.reader], timeout=DEADLINE)


def number(header: Json) -> int:
    return int(header["number"], 16)


@pytest.fixture
def chain() -> MockChain:
    return MockChain(7, chain_id=5, block_time=BLOCK_TIME, first_block=1000)


@pytest.fixture
async def provider(chain: MockChain) -> AsyncIterator[MockProvider]:
    p = MockProvider(ProviderSpec("alpha", latency=0.0), chain, seed=3)
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def client(provider: MockProvider) -> AsyncIterator[Client]:
    c = Client(await connect(provider.ws_url, open_timeout=DEADLINE))
    yield c
    await c.close()


async def replacement_heads(
    client: Client, replaced: list[tuple[int, str, str]]
) -> list[tuple[float, Json]]:
    """Skip what was sent before the reorg (old branch), return the replacements."""
    first_new = replaced[0][2]
    while True:
        at, header = await client.head()
        if header["hash"] == first_new:
            break
        assert header["hash"] != replaced[-1][2], "replacements out of order"
    heads = [(at, header)]
    for _ in replaced[1:]:
        heads.append(await client.head())
    return heads


async def test_subscribers_get_the_replacement_blocks_then_the_next(
    provider: MockProvider, client: Client, chain: MockChain
) -> None:
    sid = await client.call("eth_subscribe", "newHeads")
    assert isinstance(sid, str)
    await client.head()
    await client.head()
    replaced = chain.reorg(3)
    reorged_at = time.monotonic()
    heads = await replacement_heads(client, replaced)
    assert [(number(h), h["hash"]) for _, h in heads] == [(n, new) for n, _, new in replaced]
    fork = replaced[0][0]
    assert heads[0][1]["parentHash"] == chain.hash_of(fork - 1)  # the unchanged block
    for (_, parent), (_, child) in itertools.pairwise(heads):
        assert child["parentHash"] == parent["hash"]
    assert heads[-1][0] - reorged_at < PROMPT, heads[-1][0] - reorged_at
    for _, header in heads:
        block = chain.block(number(header))
        assert block is not None and header == block.header_json()
    _, following = await client.head()
    assert number(following) == replaced[-1][0] + 1
    assert following["parentHash"] == replaced[-1][2]


async def test_http_answers_follow_the_new_branch(provider: MockProvider, chain: MockChain) -> None:
    replaced = chain.reorg(2)
    (n, old, new) = replaced[-1]
    calls = [
        ("eth_getBlockByHash", [old, False]),
        ("eth_getBlockByHash", [new, False]),
        ("eth_getBlockByNumber", [hex(n), False]),
        ("eth_getLogs", [{"fromBlock": hex(n - 5), "toBlock": hex(n)}]),
    ]
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
    ]
    async with aiohttp.ClientSession() as http, http.post(provider.url, json=batch) as resp:
        answers = {a["id"]: a["result"] for a in await resp.json()}
    assert answers[0] is None
    assert answers[1]["hash"] == new and answers[2]["hash"] == new
    for log in answers[3]:
        assert log["blockHash"] == chain.hash_of(int(log["blockNumber"], 16))


async def test_a_lagging_provider_announces_the_reorg_when_it_catches_up(
    provider: MockProvider, client: Client, chain: MockChain
) -> None:
    await client.call("eth_subscribe", "newHeads")
    await client.head()
    frozen = await provider.lag()
    deadline = time.monotonic() + DEADLINE
    while chain.head_number() < frozen + 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(BLOCK_TIME / 4)
    replaced = chain.reorg(chain.head_number() - frozen + 2)  # 2 blocks at or below frozen
    assert replaced[0][0] == frozen - 1
    assert await client.call("eth_blockNumber") == hex(frozen)
    while not client.notes.empty():  # what was sent before the lag: old branch, <= frozen
        _, header = client.notes.get_nowait()
        assert number(header) <= frozen
    await provider.restore()
    heads = [await client.head() for _ in range(chain.head_number() - frozen + 3)]
    numbers = [number(h) for _, h in heads]
    assert numbers == list(range(frozen - 1, frozen - 1 + len(heads)))
    assert heads[0][1]["hash"] == replaced[0][2]
    assert heads[0][1]["parentHash"] == chain.hash_of(frozen - 2)
    for (_, parent), (_, child) in itertools.pairwise(heads):
        assert child["parentHash"] == parent["hash"]


async def test_a_hung_provider_announces_the_reorg_after_restore(
    provider: MockProvider, client: Client, chain: MockChain
) -> None:
    await client.call("eth_subscribe", "newHeads")
    _, header = await client.head()
    await provider.hang()
    last_seen = number((await asyncio.wait_for(_drain_last(client, header), DEADLINE))[1])
    replaced = chain.reorg(1 + chain.head_number() - last_seen)  # reaches what it announced
    await provider.restore()
    heads = [await client.head() for _ in range(len(replaced) + 1)]
    assert [(number(h), h["hash"]) for _, h in heads[: len(replaced)]] == [
        (n, new) for n, _, new in replaced
    ]
    assert heads[-1][1]["parentHash"] == replaced[-1][2]


async def _drain_last(client: Client, header: Json) -> tuple[float, Json]:
    """The last head received (``header`` or a later one), once nothing more arrives for
    three block times."""
    last = (0.0, header)
    while True:
        try:
            last = await asyncio.wait_for(client.notes.get(), 3 * BLOCK_TIME)
        except TimeoutError:
            return last
