"""WebSocket subscriptions through the reference gateway, against fake upstreams, real sockets.

The fakes (``helpers.fake_node``, never ``battletui.providers``) are small aiohttp apps on
127.0.0.1 that answer ``eth_subscribe`` and push the heads of one shared deterministic chain,
answer ``eth_getBlockByNumber`` over HTTP from the same chain, and can be killed (stop listening,
sockets reset), restored on the same port, silenced, or told to drop their WebSockets. Clients
are plain ``websockets`` connections checking every head against the chain.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from helpers.fake_node import BLOCK_INTERVAL, Chain, Listener, rpc
from helpers.gateway_rig import GatewayRig, GatewaySettings, gateway_rig
from helpers.waiting import wait_until

from battletui.gateway.backfill import fetch_heads
from battletui.gateway.ws_endpoint import SLOW_CLIENT_CLOSE_CODE, ClientConnection
from battletui.protocol.events import BreakerState

SETTINGS = GatewaySettings(
    strategy="round-robin",
    failures=5,
    open_for=5.0,
    successes=1,
    timeout=1.0,
    attempt_timeout=0.5,
    stall=1.0,
    backfill_limit=128,
    seed=3,
)
"""Quick deadlines and a 1 s stall timeout: the fake chain makes a block every 60 ms."""


@pytest.fixture
async def lab() -> AsyncIterator[GatewayRig]:
    async with gateway_rig(SETTINGS) as lab:
        yield lab


async def heads_past(lab: GatewayRig, listeners: list[Listener], count: int) -> None:
    """Wait until every listener has the block ``count`` after the chain's head now."""
    target = lab.chain.head + count
    await wait_until(
        lambda: all(listener.last >= target for listener in listeners),
        timeout=3.0 + count * BLOCK_INTERVAL * 2,
        what=f"every listener at block {target}",
    )


def assert_whole(lab: GatewayRig, listener: Listener) -> None:
    """Every block exactly once, in order, exactly as the chain has it, one subscription id."""
    assert listener.heads, "no heads at all"
    assert {sub for sub, _ in listener.heads} == {listener.sub_id}
    numbers = listener.numbers
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    for _, header in listener.heads:
        assert header == lab.chain.header(int(header["number"], 16))


def jumps(listener: Listener) -> list[tuple[int, int]]:
    numbers = listener.numbers
    return [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]


# -- failover of the shared subscription -------------------------------------------------------


async def test_killing_the_serving_upstream_loses_nothing_for_four_clients(lab: GatewayRig) -> None:
    nodes = [await lab.node(name) for name in ("alpha", "beta", "gamma")]
    gateway = await lab.gateway(nodes, strategy="fastest")
    listeners = [await lab.listener(gateway) for _ in range(4)]
    assert gateway.ws_clients == 4 and gateway.ws_subscriptions == 4
    assert len({listener.sub_id for listener in listeners}) == 4
    assert all(re.fullmatch(r"0x[0-9a-f]{32}", listener.sub_id) for listener in listeners)
    await wait_until(lambda: all(len(listener.heads) >= 3 for listener in listeners), timeout=3.0)
    victim = gateway.ws_upstream
    assert victim is not None
    assert [e.provider for e in lab.kinds("subscribed")] == [victim]
    assert sum(node.subscribes for node in nodes) == 1, "one upstream subscription for all"

    await lab.nodes[victim].kill()
    await wait_until(
        lambda: gateway.ws_upstream not in (None, victim), what="a new upstream", timeout=3.0
    )
    await heads_past(lab, listeners, 6)
    for listener in listeners:
        assert_whole(lab, listener)
    (switch,) = lab.kinds("switch")
    assert switch.provider == gateway.ws_upstream
    assert switch.detail == f"{victim} → {gateway.ws_upstream}: websocket reset"
    assert gateway.stats()[victim].failures >= 1, "the broken socket counts against it"


async def test_fastest_subscribes_on_the_fastest_measured_upstream(lab: GatewayRig) -> None:
    # The seeded tie-break among the unmeasured would pick "alpha": make it the slow one.
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    alpha.http_delay, beta.http_delay = 0.08, 0.03
    gateway = await lab.gateway([alpha, beta], strategy="fastest", health_interval=0.05)
    listener = await lab.listener(gateway)  # at once: nobody is measured yet
    await wait_until(lambda: len(listener.heads) >= 1, timeout=3.0)
    assert gateway.ws_upstream == "beta", "the first probes are awaited, not a coin tossed"
    assert alpha.subscribes == 0


async def test_rapid_switching_between_two_upstreams(lab: GatewayRig) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    gateway = await lab.gateway([alpha, beta], failures=50)
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    for _ in range(6):
        serving = gateway.ws_upstream
        assert serving is not None
        other = "beta" if serving == "alpha" else "alpha"
        await lab.nodes[serving].kill()
        await wait_until(
            lambda: gateway.ws_upstream == other,  # noqa: B023
            timeout=3.0,
            what=f"{other} serving",
        )
        await lab.nodes[serving].restore()
        seen = listener.last
        await wait_until(
            lambda: listener.last > seen,  # noqa: B023
            timeout=3.0,
            what="a head through the new upstream",
        )
    await heads_past(lab, [listener], 3)
    assert_whole(lab, listener)
    assert len(lab.kinds("switch")) == 6
    assert lab.kinds("gap") == []


@pytest.mark.parametrize("limit", [128, 3])
async def test_all_down_then_one_restored_resumes_and_backfills(
    lab: GatewayRig, limit: int
) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    gateway = await lab.gateway([alpha, beta], failures=2, backfill_limit=limit)
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    await alpha.kill()
    await beta.kill()
    await wait_until(
        lambda: bool(lab.kinds("stalled")), what="the feed to report the stall", timeout=3.0
    )
    assert gateway.ws_upstream is None
    last = listener.last
    await wait_until(
        lambda: lab.chain.head >= last + 10, what="ten blocks while all are down", timeout=3.0
    )
    assert listener.last == last
    # Both breakers are OPEN now (open for 5 s): the feed finds alpha as a last resort and
    # the backfill asks alpha directly, since the router has nobody to offer.
    assert all(b.state is BreakerState.OPEN for b in gateway.breakers.values())
    await alpha.restore()
    await wait_until(
        lambda: gateway.ws_upstream == "alpha", what="alpha serving again", timeout=3.0
    )
    await heads_past(lab, [listener], 3)
    assert {sub for sub, _ in listener.heads} == {listener.sub_id}
    (backfill,) = lab.kinds("backfill")
    assert backfill.provider == "alpha"
    first_live = alpha.first_sent[-1]
    if limit >= 128:
        assert_whole(lab, listener)
        assert lab.kinds("gap") == []
        assert backfill.detail.startswith(f"{first_live - last - 1} heads #{last + 1}-")
    else:
        # The backfill keeps the `limit` most recent missing heads: one honest gap before them.
        assert jumps(listener) == [(last, first_live - limit)]
        (gap,) = lab.kinds("gap")
        missing = first_live - limit - last - 1
        assert gap.detail == (
            f"{missing} heads #{last + 1}-#{first_live - limit - 1} could not be delivered"
        )
        assert backfill.detail.startswith(f"3 heads #{first_live - 3}-#{first_live - 1} in ")
        after = listener.numbers[listener.numbers.index(first_live - limit) :]
        assert after == list(range(after[0], after[0] + len(after)))


async def test_a_backfill_that_fails_over_is_not_client_traffic(lab: GatewayRig) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    gateway = await lab.gateway([alpha, beta], strategy="priority")
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    assert gateway.ws_upstream == "alpha"
    alpha.silent = True  # a few heads never sent: a gap to backfill
    last = listener.last
    await wait_until(
        lambda: lab.chain.head >= last + 4, what="blocks while alpha is silent", timeout=3.0
    )
    alpha.http_status = 503  # the router's first choice fails: the backfill fails over to beta
    alpha.silent = False
    await wait_until(lambda: bool(lab.kinds("backfill")), what="a backfill", timeout=3.0)
    await heads_past(lab, [listener], 2)
    assert_whole(lab, listener)
    (backfill,) = lab.kinds("backfill")
    assert backfill.provider == "beta"
    assert gateway.stats()["alpha"].failures >= 1, "alpha's 503 still counts for its breaker"
    assert lab.failovers == [], "no client asked for these blocks"
    assert {uid: s.served for uid, s in gateway.stats().items()} == {"alpha": 0, "beta": 0}


async def test_a_stalled_upstream_is_left_after_the_stall_timeout(lab: GatewayRig) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    gateway = await lab.gateway([alpha, beta], stall=0.3)
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    assert gateway.ws_upstream == "alpha"
    alpha.silent = True  # connected, but no more heads
    await wait_until(lambda: gateway.ws_upstream == "beta", what="beta serving", timeout=3.0)
    await heads_past(lab, [listener], 3)
    assert_whole(lab, listener)
    (switch,) = lab.kinds("switch")
    assert switch.detail == "alpha → beta: no head for 300ms"
    assert gateway.stats()["alpha"].failures == 1, "the stall counts against alpha"


async def test_ws_drop_resubscribes_at_once_on_the_same_upstream(lab: GatewayRig) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    gateway = await lab.gateway([alpha, beta])
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    assert gateway.ws_upstream == "alpha"
    assert await alpha.drop_ws(1001) == 1
    await wait_until(lambda: alpha.subscribes == 2, timeout=1.0, what="a new subscription")
    await heads_past(lab, [listener], 3)
    assert_whole(lab, listener)
    assert gateway.ws_upstream == "alpha"
    assert beta.subscribes == 0
    assert lab.kinds("switch") == []
    (again,) = lab.kinds("resubscribed")
    assert (again.provider, again.detail) == (
        "alpha",
        "again on alpha after websocket closed (1001)",
    )


async def test_accepted_then_dropped_at_once_opens_the_breaker_instead_of_spinning(
    lab: GatewayRig,
) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    alpha.drop_on_subscribe = True
    gateway = await lab.gateway([alpha, beta], failures=3)
    listener = await lab.listener(gateway)
    await wait_until(lambda: gateway.ws_upstream == "beta", what="beta serving", timeout=3.0)
    await heads_past(lab, [listener], 2)
    assert_whole(lab, listener)
    assert gateway.breakers["alpha"].state is BreakerState.OPEN
    assert alpha.subscribes == 3, "a subscription only counts as a success once a head came"
    assert [e.detail for e in lab.kinds("resubscribed")] == [
        "again on alpha after websocket closed (1001)",
        "again on alpha after websocket closed (1001)",
    ]
    assert [e.detail for e in lab.kinds("switch")] == ["alpha → beta: websocket closed (1001)"]


async def test_an_open_breaker_moves_the_subscription(lab: GatewayRig) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    gateway = await lab.gateway([alpha, beta], failures=2)
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    assert gateway.ws_upstream == "alpha"
    alpha.http_status = 500  # its WebSocket is fine, its HTTP is not
    async with aiohttp.ClientSession() as http:
        for i in range(4):
            async with http.post(gateway.url, json=rpc(i, "eth_blockNumber")) as response:
                assert response.status == 200
    assert gateway.breakers["alpha"].state is BreakerState.OPEN
    await wait_until(lambda: gateway.ws_upstream == "beta", what="beta serving", timeout=3.0)
    await heads_past(lab, [listener], 3)
    assert_whole(lab, listener)
    assert lab.kinds("switch")[0].detail == "alpha → beta: breaker open"


async def test_the_feed_does_not_pick_a_lagging_upstream(lab: GatewayRig) -> None:
    alpha, beta = await lab.node("alpha"), await lab.node("beta")
    alpha.behind = 10  # first in priority, but its head is ten blocks old
    gateway = await lab.gateway([alpha, beta], strategy="priority", health_interval=0.05)
    await wait_until(lambda: gateway.lagging == {"alpha"}, what="alpha lagging", timeout=3.0)
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 2, timeout=3.0)
    assert gateway.ws_upstream == "beta"
    assert alpha.subscribes == 0
    assert_whole(lab, listener)


# -- the client socket -------------------------------------------------------------------------


async def test_json_rpc_over_the_socket(lab: GatewayRig) -> None:
    alpha = await lab.node("alpha")
    gateway = await lab.gateway([alpha])
    assert gateway.ws_url == f"ws://127.0.0.1:{gateway.port}"
    client = await lab.listener(gateway, subscribe=False)
    assert gateway.ws_clients == 1 and gateway.ws_subscriptions == 0
    assert await client.call(rpc(7, "eth_chainId")) == {"jsonrpc": "2.0", "id": 7, "result": "0x1"}
    batch = [rpc(1, "eth_chainId"), rpc("b", "eth_blockNumber")]
    answer = await client.call(batch, key=(1, "b"))
    assert [item["id"] for item in answer] == [1, "b"]
    missing = await client.call(rpc(8, "eth_nope"))
    assert missing["error"]["code"] == -32601, "a client error is relayed as is"
    assert (await client.call("{nope", key=None))["error"]["code"] == -32700
    unknown = await client.call(rpc(9, "eth_subscribe", ["syncing"]))
    assert unknown["error"]["code"] == -32602
    assert "newHeads" in unknown["error"]["message"]
    bad = await client.call(rpc(10, "eth_unsubscribe", []))
    assert bad["error"]["code"] == -32602
    assert gateway.ws_upstream is None, "no subscription, no upstream feed"

    mixed = [rpc(11, "eth_subscribe", ["newHeads"]), rpc(12, "eth_chainId")]
    answer = await client.call(mixed, key=(11, 12))
    sub_id = answer[0]["result"]
    assert answer[1]["result"] == "0x1"
    client.sub_id = sub_id
    await wait_until(
        lambda: len(client.heads) >= 2, what="heads for the batch subscription", timeout=3.0
    )
    assert gateway.ws_upstream == "alpha" and gateway.ws_subscriptions == 1
    assert await client.call(rpc(13, "eth_unsubscribe", [sub_id])) == {
        "jsonrpc": "2.0",
        "id": 13,
        "result": True,
    }
    assert (await client.call(rpc(14, "eth_unsubscribe", [sub_id])))["result"] is False
    assert gateway.ws_subscriptions == 0
    assert gateway.ws_upstream is None, "the last subscription gone: the feed stops"
    assert_whole(lab, client)

    # A new subscriber starts at the next block, not with a backfill of what it never asked for.
    head_now = lab.chain.head
    await client.subscribe()
    await wait_until(
        lambda: client.heads[-1][0] == client.sub_id, what="a head for the new id", timeout=3.0
    )
    first_new = next(int(h["number"], 16) for sub, h in client.heads if sub == client.sub_id)
    assert first_new > head_now


async def test_plain_get_is_not_a_websocket(lab: GatewayRig) -> None:
    gateway = await lab.gateway([await lab.node("alpha")])
    async with aiohttp.ClientSession() as http, http.get(gateway.url + "/") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
    async with aiohttp.ClientSession() as http, http.get(gateway.url + "/health") as response:
        report = await response.json()
    assert report["websocket"] == {"upstream": None, "clients": 0, "subscriptions": 0}


async def test_stop_closes_client_sockets_and_the_upstream(lab: GatewayRig) -> None:
    alpha = await lab.node("alpha")
    gateway = await lab.gateway([alpha])
    listener = await lab.listener(gateway)
    await wait_until(lambda: len(listener.heads) >= 1, timeout=3.0)
    await gateway.stop()
    await asyncio.wait_for(listener.ws.wait_closed(), timeout=2.0)
    assert listener.ws.close_code == 1001
    assert gateway.ws_upstream is None and gateway.ws_clients == 0
    await wait_until(
        lambda: not alpha._subs, what="the upstream subscription to close", timeout=3.0
    )


class StuckSocket:
    """A client socket whose sends block until ``drain`` is set (a client not reading)."""

    def __init__(self) -> None:
        self.drain = asyncio.Event()
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.aborted = False

    async def send_str(self, data: str) -> None:
        await self.drain.wait()
        self.sent.append(data)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed_with = code
        return True

    def abort(self) -> None:
        self.aborted = True


async def test_a_slow_client_is_closed_with_1008_when_its_queue_overflows() -> None:
    socket = StuckSocket()
    client = ClientConnection(socket, queue_limit=2, abort=socket.abort, close_timeout=1.0)
    client.start()
    assert client.send("1")
    await asyncio.sleep(0)  # the writer takes "1" and blocks sending it
    assert client.send("2") and client.send("3")
    assert not client.send("4"), "over the limit"
    assert client.overflowed and not client.send("5")
    socket.drain.set()  # it reads again: the send in progress ends, then the close goes out
    await wait_until(lambda: socket.closed_with is not None, timeout=1.0)
    assert socket.closed_with == SLOW_CLIENT_CLOSE_CODE == 1008
    assert socket.sent == ["1"], "nothing more is sent to a client that overflowed"
    await client.shutdown()
    assert not socket.aborted


async def test_a_client_that_reads_nothing_at_all_is_cut_off() -> None:
    socket = StuckSocket()
    client = ClientConnection(socket, queue_limit=1, abort=socket.abort, close_timeout=0.05)
    client.start()
    client.send("1")
    await asyncio.sleep(0)
    client.send("2")
    client.send("3")
    await wait_until(lambda: socket.aborted, timeout=1.0)
    assert socket.closed_with is None, "no close frame could get through"
    await client.shutdown()


# -- backfill fetching, with fake transports ---------------------------------------------------


def answering(chain: Chain, who: str | None, *, known_up_to: int | None = None) -> Any:
    """A ``Post`` that answers block requests from ``chain`` (null above ``known_up_to``)."""
    calls: list[list[int]] = []

    async def post(body: bytes, parsed: Any) -> tuple[int, bytes, str | None]:
        calls.append([item["id"] for item in parsed])
        if who is None:
            return 503, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32050}}', None
        answer = []
        for item in parsed:
            number = item["id"]
            lagging = known_up_to is not None and number > known_up_to
            block = None if lagging else chain.block(number)
            answer.append({"jsonrpc": "2.0", "id": number, "result": block})
        return 200, json.dumps(answer).encode(), who

    post.calls = calls  # type: ignore[attr-defined]
    return post


async def test_backfill_asks_the_serving_upstream_for_what_a_lagging_one_lacks() -> None:
    chain = Chain()
    chain.head = 1100
    route = answering(chain, "lagging", known_up_to=1040)
    direct = answering(chain, "serving")
    result = await fetch_heads(range(1001, 1071), route, direct=direct, budget=2.0)
    assert sorted(result.heads) == list(range(1001, 1071))
    assert result.heads[1050].header == chain.header(1050), "body fields stripped"
    assert [len(c) for c in route.calls] == [32, 32, 6], "batches of 32"
    assert sorted(n for c in direct.calls for n in c) == list(range(1041, 1071))
    assert result.provider == "serving"


async def test_backfill_with_nobody_behind_the_router_uses_the_serving_upstream() -> None:
    chain = Chain()
    chain.head = 1010
    result = await fetch_heads(
        range(1001, 1006), answering(chain, None), direct=answering(chain, "alpha"), budget=2.0
    )
    assert sorted(result.heads) == [1001, 1002, 1003, 1004, 1005]
    assert result.provider == "alpha"


async def test_backfill_retries_a_few_times_then_gives_up_on_what_is_missing() -> None:
    chain = Chain()
    chain.head = 1003  # 1004 and 1005 do not exist anywhere yet
    route = answering(chain, "alpha")
    started = time.monotonic()
    result = await fetch_heads(range(1001, 1006), route, budget=2.0, delays=(0.01, 0.02))
    assert sorted(result.heads) == [1001, 1002, 1003]
    assert route.calls == [[1001, 1002, 1003, 1004, 1005], [1004, 1005], [1004, 1005]]
    assert time.monotonic() - started < 0.5

    async def never(body: bytes, parsed: Any) -> tuple[int, bytes, str | None]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    started = time.monotonic()
    cut = await fetch_heads(range(1, 3), never, budget=0.1)
    assert cut.heads == {} and time.monotonic() - started < 0.5
