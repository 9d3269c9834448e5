"""``GatewayObserver`` learns a real gateway's state only from its admin endpoints."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import small_scenario
from helpers.fake_node import Chain, FakeNode, Listener
from helpers.waiting import wait_until
from websockets.asyncio.client import connect

from battletui.engine.gateway_process import GatewayProcess
from battletui.gateway import Gateway
from battletui.observe import GatewayObserver, ObserverError, UpstreamView
from battletui.protocol.events import (
    BreakerState,
    BreakerTransition,
    FailoverEvent,
    GatewayEvent,
    WsFeedEvent,
)
from battletui.scenario import BreakerSpec, GatewaySpec, Scenario

SPEC = GatewaySpec(
    strategy="priority",
    breaker=BreakerSpec(failures=2, open_for=30.0),
    timeout=1.0,
    attempt_timeout=0.5,
)
ARROW = "\N{RIGHTWARDS ARROW}"


class Seen:
    """What the observer handed its callbacks."""

    def __init__(self) -> None:
        self.transitions: list[BreakerTransition] = []
        self.failovers: list[FailoverEvent] = []
        self.feed: list[WsFeedEvent] = []
        self.notes: list[GatewayEvent] = []

    def observer(self, admin_url: str) -> GatewayObserver:
        return GatewayObserver(
            admin_url,
            ["alpha", "beta"],
            on_transition=self.transitions.append,
            on_ws_event=self.feed.append,
            on_failover=self.failovers.append,
            on_gateway_event=self.notes.append,
        )


@pytest.fixture
async def nodes() -> AsyncIterator[dict[str, FakeNode]]:
    chain = Chain()
    started = {name: FakeNode(name, chain) for name in ("alpha", "beta")}
    for node in started.values():
        await node.start()
    try:
        yield started
    finally:
        for node in started.values():
            await node.kill()


def scenario() -> Scenario:
    return dataclasses.replace(small_scenario(), gateway=SPEC)


async def test_the_observer_sees_a_gateway_process_through_its_admin_endpoints(
    nodes: dict[str, FakeNode],
) -> None:
    upstreams = [(name, node.upstream.url) for name, node in nodes.items()]
    gateway = await GatewayProcess.start(scenario(), upstreams)
    seen = Seen()
    observer = seen.observer(gateway.admin_url)
    listener: Listener | None = None
    try:
        before = observer.view
        assert not before.reachable and before.strategy is None
        assert before.upstream("alpha") == UpstreamView(breaker="UNKNOWN")
        await observer.start()
        await observer.wait_ready(timeout=5.0)

        view = observer.view
        assert view.reachable and view.strategy == "priority" and view.ws_upstream is None
        assert view.ws_observed, "the reference /health says who serves the subscription"
        alpha = view.upstream("alpha")
        assert (alpha.breaker, alpha.breaker_left, alpha.rate_limited_for) == ("CLOSED", None, 0)
        assert alpha.lag in (None, 0) and not alpha.lagging, "None until probes saw heads"

        # A subscriber through the gateway: its feed subscribes upstream (priority: alpha).
        listener = Listener(await connect(gateway.ws_url, proxy=None))
        await listener.subscribe()
        await wait_until(lambda: bool(seen.feed), what="the feed's first event")
        assert (seen.feed[0].kind, seen.feed[0].provider) == ("subscribed", "alpha")
        await wait_until(lambda: observer.view.ws_upstream == "alpha", what="ws upstream")

        await _alpha_fails_over_and_opens(gateway, nodes, observer, seen)
        await _strategy_switches(observer, seen)
        assert observer.missed_events == observer.bad_messages == 0
    finally:
        if listener is not None:
            await listener.close()
        await observer.stop()
        await gateway.stop()


async def _alpha_fails_over_and_opens(
    gateway: GatewayProcess, nodes: dict[str, FakeNode], observer: GatewayObserver, seen: Seen
) -> None:
    """alpha answers 503: a request fails over to beta; the second failure opens alpha."""
    nodes["alpha"].http_status = 503
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
        answer = await http.post(gateway.url, json=body)
    assert answer.headers["X-Upstream"] == "beta"
    await wait_until(lambda: bool(seen.failovers), what="the failover")
    (failover,) = seen.failovers
    assert failover.failed == (("alpha", "HTTP 503"),)
    assert (failover.method, failover.served_by) == ("eth_blockNumber", "beta")
    await wait_until(lambda: bool(seen.transitions), what="alpha's breaker to open")
    (opened,) = seen.transitions
    assert (opened.provider, opened.old, opened.new) == (
        "alpha",
        BreakerState.CLOSED,
        BreakerState.OPEN,
    )
    assert opened.reason.startswith("2 consecutive failures (HTTP 503); open ")
    assert abs(opened.at - time.monotonic()) < 5, "the gateway's clock is ours"
    alpha = observer.view.upstream("alpha")
    assert alpha.breaker == "OPEN"
    assert alpha.breaker_left is not None and 20 < alpha.breaker_left <= 33
    assert observer.view.upstream("beta").breaker == "CLOSED"


async def _strategy_switches(observer: GatewayObserver, seen: Seen) -> None:
    """A switch is proven through /health and reported as an event; a bad name is refused."""
    assert await observer.set_strategy("round-robin") == (
        "gateway /health reports strategy round-robin"
    )
    assert observer.view.strategy == "round-robin"
    await wait_until(lambda: bool(seen.notes), what="the strategy event")
    assert [(n.kind, n.provider, n.detail) for n in seen.notes] == [
        ("strategy", None, f"priority {ARROW} round-robin")
    ]
    with pytest.raises(ObserverError, match=r"^strategy: unknown strategy 'slowest'"):
        await observer.set_strategy("slowest")
    assert observer.view.strategy == "round-robin"


async def test_a_dropped_stream_reconnects_and_misses_nothing(nodes: dict[str, FakeNode]) -> None:
    gateway = Gateway(SPEC, [node.upstream for node in nodes.values()], health_interval=0.0)
    await gateway.start()
    seen = Seen()
    observer = seen.observer(gateway.url)
    try:
        await observer.start()
        await observer.wait_ready(timeout=5.0)
        stream = gateway.event_stream
        await stream.close()  # drops the observer and refuses it until reopened
        await wait_until(lambda: not observer.connected, what="the observer to notice")
        gateway.set_strategy("fastest")  # happens while nobody listens
        stream.open()
        await wait_until(lambda: bool(seen.notes), what="the missed event, replayed")
        assert observer.connected
        gateway.set_strategy("round-robin")
        await wait_until(lambda: len(seen.notes) == 2, what="the next live event")
        assert [n.detail for n in seen.notes] == [
            f"priority {ARROW} fastest",
            f"fastest {ARROW} round-robin",
        ]
        assert observer.missed_events == 0
    finally:
        await observer.stop()
        await gateway.stop()


async def test_a_gone_gateway_turns_the_view_unknown(nodes: dict[str, FakeNode]) -> None:
    gateway = Gateway(SPEC, [node.upstream for node in nodes.values()], health_interval=0.0)
    await gateway.start()
    observer = Seen().observer(gateway.url)
    try:
        await observer.start()
        await observer.wait_ready(timeout=5.0)
        assert observer.view.upstream("beta").breaker == "CLOSED"
        await gateway.stop()
        await wait_until(lambda: not observer.view.reachable, what="unreachable")
        await wait_until(
            lambda: observer.view.upstream("beta").breaker == "UNKNOWN",
            timeout=5.0,
            what="stale answers to be dropped",
        )
        assert observer.view.strategy is None
        with pytest.raises(ObserverError, match=r"^strategy: the gateway did not answer"):
            await observer.set_strategy("fastest")
    finally:
        await observer.stop()
        await gateway.stop()


async def test_wait_ready_says_what_did_not_answer() -> None:
    observer = GatewayObserver("http://127.0.0.1:9", ["alpha"])
    try:
        await observer.start()
        with pytest.raises(ObserverError, match=r"URL http://127.0.0.1:9/health did not"):
            await observer.wait_ready(timeout=0.5)
    finally:
        await observer.stop()
