"""The gateway's admin endpoints over real sockets: ``/events``, ``/health``, ``/admin/strategy``.

The gateway runs in this process here (so a test can inject events no fake could provoke),
but everything is checked the way an observer in another process sees it: over HTTP and a
WebSocket. The fake upstreams are the ones the WebSocket tests use.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import websockets
from helpers.fake_node import Chain, FakeNode, Listener
from helpers.waiting import wait_until
from websockets.asyncio.client import ClientConnection, connect

from battletui.gateway import Gateway
from battletui.protocol.event_format import (
    decode_failovers,
    decode_gateway,
    decode_transition,
    decode_ws_feed,
)
from battletui.protocol.events import (
    BreakerState,
    BreakerTransition,
    FailoverEvent,
    GatewayEvent,
    WsFeedEvent,
)
from battletui.scenario import BreakerSpec, GatewaySpec


class EventsClient:
    """Follows ``/events`` and keeps every message, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, gateway: Gateway, query: str = "") -> EventsClient:
        url = gateway.ws_url + "/events" + query
        return cls(await connect(url, proxy=None, max_size=None))

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.messages.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        self.close_code = self.ws.close_code

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


class Rig:
    """Two fake upstreams, one gateway in front of them, the events it hands its callbacks."""

    def __init__(self) -> None:
        self.chain = Chain()
        self.nodes: dict[str, FakeNode] = {}
        self.gateways: list[Gateway] = []
        self.followers: list[EventsClient] = []
        self.listeners: list[Listener] = []
        self.transitions: list[BreakerTransition] = []
        self.failovers: list[FailoverEvent] = []
        self.feed: list[WsFeedEvent] = []
        self.notes: list[GatewayEvent] = []
        self.http = aiohttp.ClientSession()

    async def gateway(
        self, *, failures: int = 1, window: int = 20, events_queue_limit: int = 1024
    ) -> Gateway:
        for name in ("alpha", "beta"):
            node = FakeNode(name, self.chain)
            await node.start()
            self.nodes[name] = node
        spec = GatewaySpec(
            strategy="priority",
            breaker=BreakerSpec(failures=failures, window=window, open_for=30.0),
            timeout=1.0,
            attempt_timeout=0.5,
        )
        gateway = Gateway(
            spec,
            [node.upstream for node in self.nodes.values()],
            health_interval=0.0,
            on_transition=self.transitions.append,
            on_failover=self.failovers.append,
            on_ws_event=self.feed.append,
            on_health_event=self.notes.append,
            events_queue_limit=events_queue_limit,
        )
        await gateway.start()
        self.gateways.append(gateway)
        return gateway

    async def follow(self, gateway: Gateway, query: str = "") -> EventsClient:
        follower = await EventsClient.open(gateway, query)
        self.followers.append(follower)
        await wait_until(lambda: bool(follower.messages), what="hello")
        return follower

    async def post(self, url: str, payload: Any) -> tuple[int, str]:
        async with self.http.post(url, json=payload) as response:
            return response.status, await response.text()

    async def health(self, gateway: Gateway) -> dict[str, Any]:
        async with self.http.get(gateway.url + "/health") as response:
            assert response.status == 200
            report: dict[str, Any] = await response.json()
            return report

    async def close(self) -> None:
        for follower in self.followers:
            await follower.close()
        for listener in self.listeners:
            await listener.close()
        for gateway in self.gateways:
            await gateway.stop()
        for node in self.nodes.values():
            await node.kill()
        await self.http.close()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    rig = Rig()
    try:
        yield rig
    finally:
        await rig.close()


def rpc(request_id: int, method: str = "eth_blockNumber") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": []}


# -- /events -----------------------------------------------------------------------------------


async def test_events_carry_transitions_failovers_feed_and_strategy(rig: Rig) -> None:
    gateway = await rig.gateway()
    follower = await rig.follow(gateway)
    hello = follower.messages[0]
    assert hello["type"] == "hello" and hello["seq"] == 0 and hello["missed"] == 0

    # A WebSocket subscriber makes the feed subscribe upstream (priority: alpha).
    listener = Listener(await connect(gateway.ws_url, proxy=None))
    rig.listeners.append(listener)
    await listener.subscribe()
    await wait_until(lambda: bool(follower.of("ws_feed")), what="a ws_feed event")
    # alpha fails: the request fails over to beta, and one failure opens alpha's breaker.
    rig.nodes["alpha"].http_status = 503
    status, _ = await rig.post(gateway.url, rpc(1))
    assert status == 200
    await wait_until(lambda: bool(follower.of("breaker")), what="a breaker event")
    await wait_until(lambda: bool(follower.of("failovers")), what="a failovers event")
    status, text = await rig.post(gateway.url + "/admin/strategy", {"name": "round-robin"})
    assert status == 200, text
    await wait_until(lambda: bool(follower.of("gateway")), what="a strategy event")

    # Numbered 1, 2, 3... in the order the gateway saw them, stamped with its clock.
    events = follower.messages[1:]
    assert [m["seq"] for m in events] == list(range(1, len(events) + 1))
    assert all(abs(m["at"] - time.monotonic()) < 10 for m in follower.messages)

    (breaker,) = follower.of("breaker")
    assert breaker["provider"] == "alpha"
    assert (breaker["from"], breaker["to"]) == ("CLOSED", "OPEN")
    assert breaker["reason"].startswith("1 consecutive failure")
    assert 27.0 <= breaker["open_for"] <= 33.0, "30 s with up to 10 % jitter"
    (transition,) = rig.transitions
    decoded = decode_transition(breaker)
    assert (decoded.provider, decoded.old, decoded.new, decoded.reason) == (
        "alpha",
        BreakerState.CLOSED,
        BreakerState.OPEN,
        transition.reason,
    )
    assert decoded.at == pytest.approx(transition.at, abs=1e-6)

    (batch,) = follower.of("failovers")
    assert batch["omitted"] == 0
    (failover,) = decode_failovers(batch)
    (expected,) = rig.failovers
    assert failover.failed == expected.failed == (("alpha", "HTTP 503"),)
    assert (failover.method, failover.served_by) == ("eth_blockNumber", "beta")
    assert failover.cost == pytest.approx(expected.cost, abs=1e-6)
    assert failover.at == pytest.approx(expected.at, abs=1e-6)

    subscribed = decode_ws_feed(follower.of("ws_feed")[0])
    assert (subscribed.kind, subscribed.provider) == ("subscribed", "alpha")
    assert subscribed.detail == rig.feed[0].detail

    (note,) = follower.of("gateway")
    strategy = decode_gateway(note)
    assert (strategy.kind, strategy.provider) == ("strategy", None)
    assert strategy.detail == "priority \N{RIGHTWARDS ARROW} round-robin"
    assert rig.notes[-1].detail == strategy.detail


async def test_failovers_are_coalesced(rig: Rig) -> None:
    gateway = await rig.gateway(failures=10_000, window=0)  # alpha's breaker never opens
    follower = await rig.follow(gateway)
    rig.nodes["alpha"].http_status = 503
    started = time.monotonic()
    for first in range(0, 200, 20):
        replies = await asyncio.gather(*(rig.post(gateway.url, rpc(first + i)) for i in range(20)))
        assert all(status == 200 for status, _ in replies)
    elapsed = time.monotonic() - started
    assert len(rig.failovers) == 200
    await wait_until(
        lambda: sum(len(m["events"]) for m in follower.of("failovers")) == 200,
        what="every failover on the stream",
    )
    batches = follower.of("failovers")
    assert len(batches) <= elapsed / 0.1 + 2, "one message per ~100 ms, not one per failover"
    assert [e.failed for m in batches for e in decode_failovers(m)] == [
        e.failed for e in rig.failovers
    ]


async def test_a_late_observer_gets_what_was_kept(rig: Rig) -> None:
    gateway = await rig.gateway()
    for name in ("round-robin", "fastest", "priority"):
        status, _ = await rig.post(gateway.url + "/admin/strategy", {"name": name})
        assert status == 200
    late = await rig.follow(gateway, "?since=1")
    await wait_until(lambda: len(late.messages) == 3, what="hello and two replayed events")
    assert late.messages[0] | {"at": 0, "pid": 0} == {
        "type": "hello",
        "seq": 3,
        "at": 0,
        "pid": 0,
        "since": 1,
        "missed": 0,
    }
    assert [m["seq"] for m in late.messages[1:]] == [2, 3]
    async with rig.http.get(gateway.url + "/events?since=soon") as response:
        assert response.status == 400
    async with rig.http.get(gateway.url + "/events") as response:
        assert response.status == 405, "a plain GET is not a WebSocket"


async def _stuck_client(gateway: Gateway) -> ClientConnection:
    """An ``/events`` client that reads nothing: a tiny receive buffer and no room to queue."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", gateway.port))
    return await connect(gateway.ws_url + "/events", sock=sock, max_queue=1, max_size=None)


async def test_a_slow_events_client_is_cut_at_the_bound(rig: Rig) -> None:
    gateway = await rig.gateway(events_queue_limit=8)
    reader = await rig.follow(gateway)
    stuck = await _stuck_client(gateway)
    stream = gateway.event_stream
    await wait_until(lambda: stream.clients == 2, what="both clients connected")
    deadline = time.monotonic() + 10.0
    sent = 0
    while stream.dropped_clients == 0:  # big events until the stuck client's queue overflows
        assert time.monotonic() < deadline, f"not cut off after {sent} events"
        stream.gateway_event(GatewayEvent(time.monotonic(), "note", None, "x" * 16384))
        sent += 1
        await asyncio.sleep(0.001)  # the readers' turn (the stuck one does not take it)
    assert stream.clients == 1, "the client that reads stays"
    report = await rig.health(gateway)
    assert report["events"] == {"seq": sent, "clients": 1, "dropped_clients": 1}

    # Read at last: what was already on its way, then the close with 1008.
    received = 0
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5.0):
            async for _ in stuck:
                received += 1
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert 1 <= received < sent, "cut off at the bound, not after everything"

    await wait_until(lambda: len(reader.messages) == sent + 1, what="every event to the reader")
    assert [m["seq"] for m in reader.messages] == list(range(sent + 1))
    assert reader.close_code is None, "still connected"


async def test_stop_closes_events_clients_with_1001_after_the_last_words(rig: Rig) -> None:
    gateway = await rig.gateway()
    follower = await rig.follow(gateway)
    rig.nodes["alpha"].http_status = 503
    await rig.post(gateway.url, rpc(1))  # a failover, still waiting for its batch
    await gateway.stop()
    await wait_until(lambda: follower.close_code is not None, what="the stream to close")
    assert follower.close_code == 1001
    assert follower.of("failovers"), "pending failovers were sent before closing"


# -- /health and /admin/strategy ---------------------------------------------------------------


async def test_health_has_everything_a_viewer_shows(rig: Rig) -> None:
    gateway = await rig.gateway()
    rig.nodes["alpha"].http_status = 503
    await rig.post(gateway.url, rpc(1))
    report = await rig.health(gateway)
    assert report["status"] == "ok" and report["strategy"] == "priority"
    assert abs(report["at"] - time.monotonic()) < 10
    assert isinstance(report["pid"], int)
    alpha, beta = report["upstreams"]["alpha"], report["upstreams"]["beta"]
    assert (alpha["breaker"], alpha["tier"]) == ("OPEN", "open")
    assert 20 < alpha["open_remaining"] <= 33
    assert (beta["breaker"], beta["tier"], beta["open_remaining"]) == ("CLOSED", "healthy", 0)
    for entry in (alpha, beta):
        assert set(entry) == {
            "breaker",
            "open_remaining",
            "tier",
            "served",
            "failures",
            "latency_ewma_ms",
            "rate_limited_for",
            "head",
            "lag",
            "lagging",
        }
    assert report["websocket"] == {"upstream": None, "clients": 0, "subscriptions": 0}
    assert report["events"] == {"seq": 1, "clients": 0, "dropped_clients": 0}


async def test_admin_strategy_switches_or_says_why_not(rig: Rig) -> None:
    gateway = await rig.gateway()
    status, text = await rig.post(gateway.url + "/admin/strategy", {"name": "round-robin"})
    assert (status, json.loads(text)) == (200, {"strategy": "round-robin"})
    assert (await rig.health(gateway))["strategy"] == "round-robin"
    assert gateway.strategy == "round-robin"

    status, text = await rig.post(gateway.url + "/admin/strategy", {"name": "slowest"})
    assert status == 400
    assert text.startswith("unknown strategy 'slowest' (known: fastest,")
    assert text.count("\n") == 1 and text.endswith("\n")
    for bad in ({"nom": "fastest"}, ["fastest"], {"name": 3}):
        status, text = await rig.post(gateway.url + "/admin/strategy", bad)
        assert (status, text) == (400, 'expected a JSON body {"name": STRATEGY}\n')
    assert (await rig.health(gateway))["strategy"] == "round-robin", "unchanged"
