"""How the reference gateway judges and survives misbehaving upstreams, over real sockets.

The fake upstreams (``helpers.fake_upstream``, never ``battletui.providers``) are tiny
aiohttp JSON-RPC endpoints on 127.0.0.1 that can answer with HTTP errors, JSON-RPC errors,
429 + Retry-After, hang, fail on a pattern, or report a head behind the others.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from helpers.gateway_rig import GatewayRig, GatewaySettings, gateway_rig
from helpers.waiting import wait_until

from battletui.gateway import Gateway
from battletui.protocol.events import BreakerState
from battletui.scenario import GatewaySpec

CLOSED, OPEN = BreakerState.CLOSED, BreakerState.OPEN


SETTINGS = GatewaySettings(
    strategy="priority",
    failures=5,
    window=20,
    failure_rate=0.5,
    min_calls=10,
    open_for=60.0,
    timeout=2.0,
    attempt_timeout=1.0,
    lag_blocks=3,
    seed=11,
)
"""What these tests assume of a gateway unless one says otherwise."""


@pytest.fixture
async def lab() -> AsyncIterator[GatewayRig]:
    async with gateway_rig(SETTINGS, head=1000) as lab:
        yield lab


def rpc(request_id: int = 1, method: str = "eth_blockNumber") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": []}


# -- what counts as a failure ------------------------------------------------------------------


async def test_http_503_fails_over_and_counts_against_the_breaker(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.status = 503
    gateway = await lab.gateway([alpha, beta])
    status, headers, body = await lab.post(gateway, rpc(3))
    assert (status, headers["X-Upstream"], headers["X-Failovers"]) == (200, "beta", "1")
    assert body == {"jsonrpc": "2.0", "id": 3, "result": hex(1000)}
    assert gateway.breakers["alpha"].consecutive_failures == 1
    assert gateway.stats()["alpha"].failures == 1
    (event,) = lab.failovers
    assert (event.method, event.failed, event.served_by) == (
        "eth_blockNumber",
        (("alpha", "HTTP 503"),),
        "beta",
    )


@pytest.mark.parametrize("code", [-32603, -32000, -32099])
async def test_server_range_rpc_errors_in_200_fail_over(lab: GatewayRig, code: int) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.rpc_error = code
    gateway = await lab.gateway([alpha, beta], failures=3)
    for i in range(4):
        status, headers, body = await lab.post(gateway, rpc(i))
        assert (status, headers["X-Upstream"]) == (200, "beta")
        assert body["result"] == hex(1000)
    assert alpha.hits == 3
    assert gateway.breakers["alpha"].state is OPEN
    assert lab.transitions[0].reason.startswith(
        f"3 consecutive failures (JSON-RPC error {code}); open "
    )


@pytest.mark.parametrize("code", [-32602, -32601, -32600, -32700])
async def test_client_rpc_errors_pass_through_as_success(lab: GatewayRig, code: int) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.rpc_error = code
    gateway = await lab.gateway([alpha, beta], failures=1)
    for i in range(3):
        status, headers, body = await lab.post(gateway, rpc(i, "eth_getLogs"))
        assert (status, headers["X-Upstream"], headers["X-Failovers"]) == (200, "alpha", "0")
        assert body["error"]["code"] == code
        assert "X-Failover-Cost-Ms" not in headers
    assert beta.hits == 0
    assert gateway.breakers["alpha"].state is CLOSED
    assert gateway.breakers["alpha"].window_failures == 0
    assert gateway.stats()["alpha"].failures == 0
    assert lab.failovers == []


async def test_non_json_body_is_a_failure(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    gateway = await lab.gateway([alpha, beta])
    alpha.raw = b"<html>502 Bad Gateway</html>"
    status, headers, _ = await lab.post(gateway, rpc())
    assert (status, headers["X-Upstream"]) == (200, "beta")
    assert lab.failovers[0].failed == (("alpha", "non-JSON body (HTTP 200)"),)
    assert gateway.breakers["alpha"].consecutive_failures == 1


async def test_batch_fails_over_as_one_request(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.status = 502
    gateway = await lab.gateway([alpha, beta])
    status, headers, body = await lab.post(gateway, [rpc(1), rpc(2, "eth_chainId")])
    assert (status, headers["X-Upstream"], headers["X-Failovers"]) == (200, "beta", "1")
    assert [item["id"] for item in body] == [1, 2]
    assert lab.failovers[0].method == "batch"
    assert gateway.breakers["alpha"].consecutive_failures == 1


# -- rate limits -------------------------------------------------------------------------------


async def test_429_benches_the_provider_until_retry_after(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.status, alpha.retry_after = 429, "2"
    gateway = await lab.gateway([alpha, beta], failures=1)
    status, headers, _ = await lab.post(gateway, rpc())
    assert (status, headers["X-Upstream"], headers["X-Failovers"]) == (200, "beta", "1")
    benched_at = time.monotonic()
    assert lab.failovers[0].failed == (("alpha", "rate-limited (HTTP 429, retry after 2.0s)"),)
    assert [(e.kind, e.provider, e.detail) for e in lab.events] == [
        ("rate-limited", "alpha", "retry after 2.0s")
    ]
    assert 1.8 < gateway.rate_limited_for("alpha") <= 2.0
    assert 1.8 < gateway.stats()["alpha"].rate_limited_for <= 2.0
    alpha.status = 200  # it would answer now, but asked for two seconds of peace
    for i in range(5):
        status, headers, _ = await lab.post(gateway, rpc(i))
        assert (headers["X-Upstream"], headers["X-Failovers"]) == ("beta", "0")
    assert alpha.hits == 1
    assert gateway.breakers["alpha"].state is CLOSED, "a rate limit is not a failure"
    assert lab.transitions == []
    await wait_until(lambda: gateway.rate_limited_for("alpha") == 0, timeout=3.0)
    assert 1.9 <= time.monotonic() - benched_at <= 2.5
    _, headers, _ = await lab.post(gateway, rpc())
    assert headers["X-Upstream"] == "alpha", "back after Retry-After"


async def test_rate_limited_provider_is_the_last_resort(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.status, alpha.retry_after = 429, "30"
    gateway = await lab.gateway([alpha, beta], failures=1)
    await lab.post(gateway, rpc())  # alpha: benched for 30 s
    beta.status = 500
    status, _, body = await lab.post(gateway, rpc())  # beta fails, its breaker opens
    assert status == 503
    assert re.fullmatch(
        r"no upstream available: alpha: rate-limited \(\d+\.\ds left\); beta: HTTP 500",
        body["error"]["message"],
    ), "skipped while someone else was available"
    # Now beta is OPEN: alpha is all there is, and it is tried despite its Retry-After.
    status, headers, _ = await lab.post(gateway, rpc())
    assert status == 503
    assert alpha.hits == 2
    alpha.status = 200
    status, headers, _ = await lab.post(gateway, rpc())
    assert (status, headers["X-Upstream"]) == (200, "alpha")


# -- hung upstreams and deadlines --------------------------------------------------------------


async def test_hung_upstream_is_cut_at_attempt_timeout_and_trips_the_breaker(
    lab: GatewayRig,
) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.hang = True
    gateway = await lab.gateway([alpha, beta], failures=3, attempt_timeout=0.2)
    for i in range(3):
        started = time.monotonic()
        status, headers, _ = await lab.post(gateway, rpc(i))
        took = time.monotonic() - started
        assert (status, headers["X-Upstream"], headers["X-Failovers"]) == (200, "beta", "1")
        # Cut at the attempt timeout, not left hanging: the answer comes well inside a
        # deadline ten times the timeout (a busy machine stretches everything; a hang would
        # never end). What the gateway measured is the timeout it waited, to the millisecond.
        assert 0.2 <= took < 2.0
        assert 190 <= int(headers["X-Failover-Cost-Ms"]) <= round(took * 1000)
    assert [e.failed for e in lab.failovers] == [(("alpha", "timeout after 200ms"),)] * 3
    assert gateway.breakers["alpha"].state is OPEN
    assert re.fullmatch(
        r"3 consecutive failures \(timeout after 200ms\); open \d+\.\ds", lab.transitions[0].reason
    )
    hits = alpha.hits
    status, headers, _ = await lab.post(gateway, rpc())
    assert (headers["X-Upstream"], headers["X-Failovers"]) == ("beta", "0")
    assert alpha.hits == hits, "an open breaker costs nothing: alpha is not even asked"


async def test_failover_cost_matches_the_injected_delay(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.status, alpha.delay = 503, 0.15
    gateway = await lab.gateway([alpha, beta])
    _, headers, _ = await lab.post(gateway, rpc())
    assert headers["X-Failovers"] == "1"
    assert 145 <= int(headers["X-Failover-Cost-Ms"]) < 400
    (event,) = lab.failovers
    assert 0.145 <= event.cost < 0.4
    assert event.served_by == "beta"
    assert round(event.cost * 1000) == int(headers["X-Failover-Cost-Ms"])


# -- the failure rate --------------------------------------------------------------------------


async def test_half_the_calls_failing_opens_on_the_failure_rate(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.pattern = ["ok", 500]  # never two failures in a row
    gateway = await lab.gateway([alpha, beta], failures=5, window=20, min_calls=10)
    upstreams = []
    for i in range(12):
        status, headers, _ = await lab.post(gateway, rpc(i))
        assert status == 200
        upstreams.append(headers["X-Upstream"])
    assert upstreams[:10] == ["alpha", "beta"] * 5
    assert upstreams[10:] == ["beta", "beta"], "open after its 10th call"
    assert alpha.hits == 10
    (opened,) = lab.transitions
    assert opened.new is OPEN
    assert re.fullmatch(
        r"failure rate 50% over 10 calls \(HTTP 500\); open \d+\.\ds", opened.reason
    )


# -- lag ---------------------------------------------------------------------------------------


async def test_a_lagging_provider_is_demoted_and_restored(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.head, beta.head = 1000, 1010
    gateway = await lab.gateway([alpha, beta], health_interval=0.05, lag_blocks=3)
    await wait_until(lambda: gateway.lagging == {"alpha"}, what="alpha lagging", timeout=3.0)
    assert gateway.lag("alpha") == 10 and gateway.lag("beta") == 0
    assert gateway.stats()["alpha"].lag == 10 and gateway.stats()["alpha"].lagging
    for i in range(3):
        _, headers, _ = await lab.post(gateway, rpc(i))
        assert (headers["X-Upstream"], headers["X-Failovers"]) == ("beta", "0")
    async with lab.client.get(gateway.url + "/health") as response:
        report = await response.json()
    assert report["upstreams"]["alpha"]["lag"] == 10
    assert report["upstreams"]["alpha"]["lagging"] is True
    # Demoted, not excluded: with beta gone, alpha serves.
    beta.status = 500
    _, headers, _ = await lab.post(gateway, rpc())
    assert (headers["X-Upstream"], headers["X-Failovers"]) == ("alpha", "1")
    beta.status = 200
    alpha.head = 1009  # within lag_blocks of the best
    await wait_until(lambda: not gateway.lagging, what="alpha caught up", timeout=3.0)
    _, headers, _ = await lab.post(gateway, rpc())
    assert headers["X-Upstream"] == "alpha"
    lag_events = [(e.kind, e.provider, e.detail) for e in lab.events]
    assert lag_events == [
        ("lagging", "alpha", "10 blocks behind (head 1000, best 1010)"),
        ("caught-up", "alpha", "head 1009, best 1010"),
    ]


async def test_unknown_lag_is_none(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    unprobed = await lab.gateway([alpha, beta])
    assert unprobed.lag("alpha") is None
    assert unprobed.lagging == frozenset()
    with pytest.raises(KeyError):
        unprobed.lag("nobody")
    gateway = await lab.gateway([alpha, beta], health_interval=0.05, failures=1)
    await wait_until(lambda: gateway.lag("alpha") == gateway.lag("beta") == 0, timeout=3.0)
    alpha.status = 500
    await wait_until(lambda: gateway.breakers["alpha"].state is OPEN, timeout=3.0)
    assert gateway.lag("alpha") is None, "an OPEN provider's head is stale"
    assert gateway.lag("beta") == 0


# -- nobody left -------------------------------------------------------------------------------


async def test_all_unavailable_answers_503_naming_each_cause(lab: GatewayRig) -> None:
    alpha, beta, gamma = await lab.fakes_named("alpha", "beta", "gamma")
    alpha.status = 500
    gateway = await lab.gateway([alpha, beta, gamma], failures=1, attempt_timeout=0.2)
    await lab.post(gateway, rpc())  # alpha opens; beta answers
    assert gateway.breakers["alpha"].state is OPEN
    beta.status, beta.retry_after = 429, "30"
    gamma.hang = True
    started = time.monotonic()
    status, headers, body = await lab.post(gateway, rpc(9))
    took = time.monotonic() - started
    assert status == 503
    assert "X-Upstream" not in headers
    assert body["id"] == 9 and body["error"]["code"] == -32050
    assert re.fullmatch(
        r"no upstream available: alpha: breaker open \(\d+\.\ds left\); "
        r"beta: rate-limited \(HTTP 429, retry after 30\.0s\); gamma: timeout after 200ms",
        body["error"]["message"],
    ), body["error"]["message"]
    event = lab.failovers[-1]
    assert event.served_by is None
    assert event.failed == (
        ("beta", "rate-limited (HTTP 429, retry after 30.0s)"),
        ("gamma", "timeout after 200ms"),
    )
    assert 0.2 <= event.cost <= took
    assert headers["X-Failovers"] == "2"
    assert int(headers["X-Failover-Cost-Ms"]) == round(event.cost * 1000)
    # Again: alpha and gamma are OPEN, beta is rate-limited and so the last resort.
    status, _, body = await lab.post(gateway, rpc(10))
    assert status == 503
    assert re.fullmatch(
        r"no upstream available: alpha: breaker open \(\d+\.\ds left\); "
        r"beta: rate-limited \(HTTP 429, retry after 30\.0s\); "
        r"gamma: breaker open \(\d+\.\ds left\)",
        body["error"]["message"],
    ), body["error"]["message"]


async def test_broken_listeners_do_not_break_routing(lab: GatewayRig) -> None:
    alpha, beta = await lab.fakes_named("alpha", "beta")
    alpha.status = 503

    def explode(_: object) -> None:
        raise RuntimeError("boom")

    gateway = Gateway(
        GatewaySpec(strategy="priority"),
        [alpha.upstream, beta.upstream],
        health_interval=0.0,
        on_failover=explode,
        on_health_event=explode,
    )
    await gateway.start()
    lab.gateways.append(gateway)
    status, headers, _ = await lab.post(gateway, rpc())
    assert (status, headers["X-Upstream"]) == (200, "beta")
    gateway.set_strategy("round-robin")
    assert gateway.strategy == "round-robin"
