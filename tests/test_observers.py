"""``build_observer``: one observer for what a target names; the JSON health observer against
a real reference gateway process; ``n/a`` where nothing observes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import small_scenario
from helpers.fake_node import Chain, FakeNode
from helpers.waiting import wait_until
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import start_http_server

from battletui.engine.gateway_process import GatewayProcess
from battletui.observe import (
    N_A,
    NOT_OBSERVED,
    UNKNOWN,
    CannotSwitch,
    ObserveConfig,
    ObserverCallbacks,
    ObserverError,
    PrometheusConfig,
    build_observer,
    reference_observe,
)
from battletui.protocol.events import BreakerTransition
from battletui.scenario import BreakerSpec, GatewaySpec, Scenario

IDS = ("alpha", "beta", "gamma")
SPEC = GatewaySpec(
    strategy="priority",
    breaker=BreakerSpec(failures=2, open_for=30.0),
    timeout=1.0,
    attempt_timeout=0.5,
)


def scenario() -> Scenario:
    return dataclasses.replace(small_scenario(), gateway=SPEC)


@pytest.fixture
async def nodes() -> AsyncIterator[dict[str, FakeNode]]:
    """Two upstreams the gateway calls by its own names, node-a and node-b."""
    chain = Chain()
    started = {name: FakeNode(name, chain) for name in ("node-a", "node-b")}
    for node in started.values():
        await node.start()
    try:
        yield started
    finally:
        for node in started.values():
            await node.kill()


async def test_nothing_observes_every_breaker_reads_n_a_and_the_share_comes_from_received() -> None:
    observer = build_observer(ObserveConfig(upstream_header=None), IDS)
    await observer.start()
    await observer.wait_ready(timeout=0.1)
    try:
        view = observer.view
        assert observer.names == []
        assert not view.observed and view.share_source == "received"
        assert [view.upstream(pid) for pid in (*IDS, "other")] == [NOT_OBSERVED] * 4
        assert view.upstream("alpha").breaker == N_A and view.upstream("alpha").lag is None
        with pytest.raises(CannotSwitch, match=r"^strategy: nothing observes this gateway"):
            await observer.set_strategy("fastest")
    finally:
        await observer.stop()
    assert build_observer(None, IDS).view.upstream("beta") == NOT_OBSERVED


async def test_a_header_alone_observes_who_served_but_no_breaker() -> None:
    observer = build_observer(ObserveConfig(upstream_header="X-ERPC-Upstream"), IDS)
    assert observer.names == ["upstream header X-ERPC-Upstream"]
    view = observer.view
    assert view.share_source == "header"
    assert view.upstream("gamma").breaker == N_A


async def test_json_health_of_a_real_gateway_process_with_upstream_names_mapped(
    nodes: dict[str, FakeNode],
) -> None:
    upstreams = [(name, node.upstream.url) for name, node in nodes.items()]
    gateway = await GatewayProcess.start(scenario(), upstreams)
    transitions: list[BreakerTransition] = []
    observe = ObserveConfig(upstream_header=None, health=f"{gateway.admin_url}/health")
    observer = build_observer(
        observe,
        IDS,
        {"node-a": "alpha", "node-b": "beta"},
        ObserverCallbacks(on_transition=transitions.append),
    )
    try:
        await observer.start()
        await observer.wait_ready(timeout=5.0)
        assert observer.names == ["health"]
        view = observer.view
        assert view.reachable and view.strategy == "priority" and view.observed
        assert view.share_source == "received"
        breakers = [view.upstream(pid).breaker for pid in IDS]
        assert breakers == ["CLOSED", "CLOSED", UNKNOWN], "gamma: observed, never listed"

        nodes["node-a"].http_status = 503  # two failures open node-a's breaker
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
            answer = await http.post(gateway.url, json=body)
        assert answer.headers["X-Upstream"] == "node-b"
        await wait_until(
            lambda: observer.view.upstream("alpha").breaker == "OPEN", what="alpha OPEN"
        )
        left = observer.view.upstream("alpha").breaker_left
        assert left is not None and 20 < left <= 33
        assert transitions == [], "no event stream named: transitions are the stream's to tell"
        with pytest.raises(CannotSwitch, match=r"^strategy: the gateway under test has no"):
            await observer.set_strategy("fastest")
    finally:
        await observer.stop()
        await gateway.stop()


async def test_the_reference_layout_switches_strategy_and_streams_transitions(
    nodes: dict[str, FakeNode],
) -> None:
    upstreams = [(name, node.upstream.url) for name, node in nodes.items()]
    gateway = await GatewayProcess.start(scenario(), upstreams)
    transitions: list[BreakerTransition] = []
    observer = build_observer(
        reference_observe(gateway.admin_url),
        IDS,
        {"node-a": "alpha", "node-b": "beta"},
        ObserverCallbacks(on_transition=transitions.append),
        strategy_url=f"{gateway.admin_url}/admin/strategy",
    )
    try:
        await observer.start()
        await observer.wait_ready(timeout=5.0)
        assert observer.names == ["health", "events", "upstream header X-Upstream"]
        assert observer.view.share_source == "header"
        assert await observer.set_strategy("round-robin") == (
            "gateway /health reports strategy round-robin"
        )
        with pytest.raises(ObserverError, match=r"^strategy: unknown strategy 'slowest'"):
            await observer.set_strategy("slowest")
        nodes["node-b"].http_status = 503
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
        async with httpx.AsyncClient(trust_env=False, timeout=5.0) as http:
            for _ in range(6):
                await http.post(gateway.url, json=body)
        await wait_until(lambda: bool(transitions), what="beta's breaker to open")
        assert (transitions[0].provider, str(transitions[0].new)) == ("beta", "OPEN")
    finally:
        await observer.stop()
        await gateway.stop()


async def test_health_and_metrics_together_the_health_url_says_breakers_metrics_fill_lag(
    nodes: dict[str, FakeNode],
) -> None:
    registry = CollectorRegistry()
    lag = Gauge(
        "erpc_upstream_block_head_lag",
        "lag",
        ["project", "vendor", "network", "upstream"],
        registry=registry,
    )
    lag.labels("main", "n/a", "evm:1", "gamma").set(6)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    upstreams = [(name, node.upstream.url) for name, node in nodes.items()]
    gateway = await GatewayProcess.start(scenario(), upstreams)
    observe = ObserveConfig(
        health=f"{gateway.admin_url}/health",
        prometheus=PrometheusConfig(f"http://127.0.0.1:{server.server_port}/metrics", "erpc"),
    )
    observer = build_observer(observe, IDS, {"node-a": "alpha", "node-b": "beta"})
    try:
        await observer.start()
        await observer.wait_ready(timeout=5.0)
        assert observer.names == ["health", "prometheus erpc", "upstream header X-Upstream"]
        view = observer.view
        assert view.reachable and view.strategy == "priority"
        assert [view.upstream(pid).breaker for pid in IDS] == ["CLOSED", "CLOSED", UNKNOWN]
        assert view.upstream("gamma").lag == 6
    finally:
        await observer.stop()
        await gateway.stop()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
