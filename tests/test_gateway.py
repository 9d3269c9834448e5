"""The reference gateway against tiny fake upstreams over real sockets on 127.0.0.1.

The fakes (``helpers.fake_upstream``) are not ``battletui.providers`` on purpose: the gateway
must work against anything that speaks JSON-RPC over HTTP.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from helpers.gateway_rig import GatewayRig, GatewaySettings, gateway_rig
from helpers.waiting import wait_until

from battletui.gateway import UpstreamStats
from battletui.gateway.outcome import Verdict, judge_response, parse_retry_after
from battletui.protocol.events import BreakerState, BreakerTransition

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


# -- the lab: fakes, gateways and a client, all cleaned up -------------------------------------


@pytest.fixture
async def lab() -> AsyncIterator[GatewayRig]:
    async with gateway_rig(GatewaySettings(strategy="round-robin", seed=7)) as lab:
        yield lab


def rpc(request_id: int = 1, method: str = "eth_blockNumber") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": []}


def why(transition: BreakerTransition) -> str:
    """The cause of an opening, without the "; open 5.2s" that says for how long (jittered)."""
    cause, _, how_long = transition.reason.partition("; open ")
    if transition.new is OPEN:
        assert re.fullmatch(r"\d+\.\ds.*", how_long), transition.reason
    return cause


# -- forwarding --------------------------------------------------------------------------------


async def test_forwards_bytes_as_is_and_names_the_upstream(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    gateway = await lab.gateway([alpha])
    assert gateway.url == f"http://127.0.0.1:{gateway.port}"
    raw = b'{ "jsonrpc": "2.0",  "method": "eth_blockNumber", "params": [], "id": 42 }'
    status, headers, body = await lab.post(gateway, raw)
    assert status == 200
    assert body == {"jsonrpc": "2.0", "id": 42, "result": "0x10"}
    assert headers["X-Upstream"] == "alpha"
    assert headers["X-Failovers"] == "0"
    assert alpha.last_body == raw
    assert gateway.stats()["alpha"].served == 1


async def test_batch_is_forwarded_and_judged_by_http_status_only(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", rpc_error=-32603)
    gateway = await lab.gateway([alpha], failures=1)
    batch = [rpc(1), rpc(2, "eth_chainId")]
    status, headers, body = await lab.post(gateway, batch)
    assert status == 200
    assert [item["id"] for item in body] == [1, 2]
    assert all(item["error"]["code"] == -32603 for item in body)
    assert headers["X-Upstream"] == "alpha"
    assert json.loads(alpha.last_body) == batch
    assert gateway.breakers["alpha"].state is CLOSED


async def test_invalid_json_is_answered_by_the_gateway(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    gateway = await lab.gateway([alpha])
    status, headers, body = await lab.post(gateway, b'{"jsonrpc": "2.0", "id": 1,')
    assert status == 200
    assert body == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "Parse error"},
    }
    assert "X-Upstream" not in headers
    assert alpha.hits == 0


async def test_health_endpoint_reports_breakers(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1, open_for=60)
    await beta.stop()
    for i in range(2):
        await lab.post(gateway, rpc(i))
    async with lab.client.get(gateway.url + "/health") as response:
        assert response.status == 200
        report = await response.json()
    assert report["status"] == "ok"
    assert report["strategy"] == "round-robin"
    assert report["upstreams"]["alpha"]["breaker"] == "CLOSED"
    assert report["upstreams"]["alpha"]["open_remaining"] == 0
    assert 50 < report["upstreams"]["beta"]["open_remaining"] <= 60
    assert report["upstreams"]["beta"]["breaker"] == "OPEN"
    assert report["upstreams"]["beta"]["failures"] == 1


async def test_stop_is_idempotent_and_frees_the_port(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    gateway = await lab.gateway([alpha], health_interval=0.05)
    port = gateway.port
    await gateway.stop()
    await gateway.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with lab.client.get(f"http://127.0.0.1:{port}/health"):
            pass


# -- selection ---------------------------------------------------------------------------------


async def test_fastest_measures_everyone_then_picks_the_lowest_latency(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", delay=0.06)
    beta = await lab.fake("beta")
    gamma = await lab.fake("gamma", delay=0.03)
    gateway = await lab.gateway([alpha, beta, gamma], strategy="fastest")
    first = [(await lab.post(gateway, rpc(i)))[1]["X-Upstream"] for i in range(3)]
    assert sorted(first) == ["alpha", "beta", "gamma"], "unmeasured providers go first"
    rest = [(await lab.post(gateway, rpc(i)))[1]["X-Upstream"] for i in range(8)]
    assert rest == ["beta"] * 8
    latency: dict[str, float] = {}
    for uid, stats in gateway.stats().items():
        assert stats.latency_ewma_ms is not None
        latency[uid] = stats.latency_ewma_ms
    assert latency["beta"] < latency["gamma"] < latency["alpha"]


async def test_health_probes_measure_providers_without_traffic(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", delay=0.04)
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], strategy="fastest", health_interval=0.05)
    await wait_until(
        lambda: all(s.latency_ewma_ms is not None for s in gateway.stats().values()), timeout=3.0
    )
    assert alpha.probes >= 1 and beta.probes >= 1
    assert all(s.served == 0 for s in gateway.stats().values())
    _, headers, _ = await lab.post(gateway, rpc())
    assert headers["X-Upstream"] == "beta"


async def test_round_robin_spreads_evenly(lab: GatewayRig) -> None:
    fakes = [await lab.fake(name) for name in ("alpha", "beta", "gamma")]
    gateway = await lab.gateway(fakes, strategy="round-robin")
    for i in range(30):
        status, _, _ = await lab.post(gateway, rpc(i))
        assert status == 200
    assert [f.hits for f in fakes] == [10, 10, 10]
    assert {uid: s.served for uid, s in gateway.stats().items()} == {
        "alpha": 10,
        "beta": 10,
        "gamma": 10,
    }


# -- failover and breakers ---------------------------------------------------------------------


async def test_refused_connections_fail_over_and_open_the_breaker(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=3, open_for=60)
    await alpha.stop()
    failovers = []
    for i in range(10):
        status, headers, body = await lab.post(gateway, rpc(i))
        assert status == 200
        assert body["id"] == i
        assert headers["X-Upstream"] == "beta"
        failovers.append(int(headers["X-Failovers"]))
    assert failovers[:6] == [1, 0, 1, 0, 1, 0]
    assert failovers[6:] == [0, 0, 0, 0], "once open, alpha is no longer tried"
    assert gateway.breakers["alpha"].state is OPEN
    assert gateway.stats()["alpha"] == UpstreamStats(served=0, failures=3, latency_ewma_ms=None)
    assert gateway.stats()["beta"].served == 10
    assert [(t.provider, t.new, why(t)) for t in lab.transitions] == [
        ("alpha", OPEN, "3 consecutive failures (connection refused)")
    ]


async def test_ticker_moves_open_to_half_open_without_traffic(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1, open_for=0.3)
    await alpha.stop()
    await lab.post(gateway, rpc())
    assert [t.new for t in lab.transitions] == [OPEN]
    # Only the ticker can produce this: nothing else touches the breaker.
    await wait_until(lambda: len(lab.transitions) == 2, timeout=2.0)
    opened, half_open = lab.transitions
    assert half_open.new is HALF_OPEN
    # Open times carry a seeded jitter of up to 10 % either way.
    assert opened.at + 0.27 <= half_open.at <= opened.at + 0.33
    assert half_open.at == pytest.approx(opened.at + gateway.breakers["alpha"].current_open_for)
    assert half_open.reason == "open for 0.3s elapsed"


async def test_dead_provider_trips_via_probes_then_recovers(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway(
        [alpha, beta], failures=2, open_for=0.3, successes=2, health_interval=0.05
    )
    breaker = gateway.breakers["alpha"]
    await alpha.stop()
    await wait_until(lambda: breaker.state is OPEN, timeout=3.0)
    await alpha.start()  # same port again
    await wait_until(lambda: breaker.state is CLOSED and len(lab.transitions) >= 3, timeout=3.0)
    steps = [(t.old, t.new) for t in lab.transitions]
    assert steps[0] == (CLOSED, OPEN)
    assert steps[-2:] == [(OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert lab.transitions[-1].reason == "2 probes succeeded"
    hits_before = alpha.hits
    for i in range(4):
        await lab.post(gateway, rpc(i))
    assert alpha.hits == hits_before + 2, "traffic comes back to a closed breaker"


async def test_half_open_provider_gets_traffic_only_after_closed_ones(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1, open_for=0.2, successes=1)
    await alpha.stop()
    await lab.post(gateway, rpc())
    await alpha.start()
    await wait_until(lambda: gateway.breakers["alpha"].state is HALF_OPEN, timeout=3.0)
    await beta.stop()  # beta refuses now, alpha is only half-open: alpha answers as the probe
    status, headers, _ = await lab.post(gateway, rpc())
    assert status == 200
    assert headers["X-Upstream"] == "alpha"
    assert headers["X-Failovers"] == "1"
    assert gateway.breakers["alpha"].state is CLOSED


async def test_slow_upstream_is_cut_at_attempt_timeout_and_failed_over(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", delay=3.0)
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], attempt_timeout=0.2, timeout=2.0, failures=1)
    started = time.monotonic()
    status, headers, _ = await lab.post(gateway, rpc())
    elapsed = time.monotonic() - started
    assert status == 200
    assert headers["X-Upstream"] == "beta"
    assert headers["X-Failovers"] == "1"
    assert 0.2 <= elapsed < 0.8
    assert why(lab.transitions[0]) == "1 consecutive failure (timeout after 200ms)"


async def test_request_deadline_caps_the_last_attempt(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", delay=3.0)
    beta = await lab.fake("beta", delay=3.0)
    gateway = await lab.gateway([alpha, beta], attempt_timeout=0.2, timeout=0.3)
    started = time.monotonic()
    status, headers, body = await lab.post(gateway, rpc(5))
    elapsed = time.monotonic() - started
    assert status == 503
    assert headers["X-Failovers"] == "2"
    assert 0.3 <= elapsed < 0.8
    message = body["error"]["message"]
    assert re.fullmatch(
        r"no upstream available: alpha: timeout after 200ms; beta: timeout after \d+ms", message
    )
    beta_ms = int(re.findall(r"(\d+)ms", message)[-1])
    assert beta_ms <= 100, "the second attempt only gets what is left of the deadline"


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 503}, "HTTP 503"),
        ({"rpc_error": -32603}, "JSON-RPC error -32603"),
        ({"rpc_error": -32005}, "JSON-RPC error -32005"),
    ],
)
async def test_server_errors_count_as_failures(
    lab: GatewayRig, behaviour: dict[str, Any], reason: str
) -> None:
    alpha = await lab.fake("alpha", **behaviour)
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=2, open_for=60)
    for i in range(6):
        status, headers, body = await lab.post(gateway, rpc(i))
        assert status == 200
        assert headers["X-Upstream"] == "beta"
        assert "result" in body
    assert gateway.breakers["alpha"].state is OPEN
    assert alpha.hits == 2
    assert why(lab.transitions[0]) == f"2 consecutive failures ({reason})"


@pytest.mark.parametrize("code", [-32601, -32602, -32600, 3])
async def test_client_errors_pass_through_and_count_as_success(lab: GatewayRig, code: int) -> None:
    alpha = await lab.fake("alpha", rpc_error=code)
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1)
    status, headers, body = await lab.post(gateway, rpc(9, "eth_nope"))
    assert status == 200
    assert headers["X-Upstream"] == "alpha"
    assert headers["X-Failovers"] == "0"
    assert body["id"] == 9
    assert body["error"]["code"] == code
    assert beta.hits == 0
    assert gateway.breakers["alpha"].state is CLOSED
    assert gateway.stats()["alpha"].failures == 0
    assert gateway.stats()["alpha"].served == 1


async def test_rate_limit_fails_over_without_tripping_the_breaker(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", status=429)
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1)
    for i in range(6):
        status, headers, _ = await lab.post(gateway, rpc(i))
        assert status == 200
        assert headers["X-Upstream"] == "beta"
    # No Retry-After: benched for the default second, so it is asked only once here.
    assert alpha.hits == 1
    assert 0 < gateway.rate_limited_for("alpha") <= 1.0
    assert gateway.breakers["alpha"].state is CLOSED
    assert gateway.stats()["alpha"].failures == 0
    assert lab.transitions == []


async def test_retry_after_benches_the_provider_for_a_while(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", status=429, retry_after="30")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1)
    failovers = [int((await lab.post(gateway, rpc(i)))[1]["X-Failovers"]) for i in range(4)]
    assert failovers == [1, 0, 0, 0]
    assert alpha.hits == 1
    assert gateway.breakers["alpha"].state is CLOSED


async def test_all_down_answers_503_naming_each_cause(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha", status=500)
    beta = await lab.fake("beta")
    gamma = await lab.fake("gamma", delay=3.0)
    gateway = await lab.gateway(
        [alpha, beta, gamma], failures=2, open_for=60, attempt_timeout=0.2, timeout=2.0
    )
    await beta.stop()
    status, headers, body = await lab.post(gateway, rpc(7))
    assert status == 503
    assert headers["X-Failovers"] == "3"
    assert 200 <= int(headers["X-Failover-Cost-Ms"]) < 1000, "the whole request, cut at 200ms"
    assert "X-Upstream" not in headers
    assert body == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {
            "code": -32050,
            "message": "no upstream available: alpha: HTTP 500; beta: connection refused; "
            "gamma: timeout after 200ms",
        },
    }
    await lab.post(gateway, rpc(8))  # the second failure opens every breaker
    assert all(b.state is OPEN for b in gateway.breakers.values())
    status, headers, body = await lab.post(gateway, [rpc(1), rpc(2)])
    assert status == 503
    assert headers["X-Failovers"] == "0"
    assert "X-Failover-Cost-Ms" not in headers
    message = body[0]["error"]["message"]
    assert re.fullmatch(
        r"no upstream available: alpha: breaker open \(\d+\.\ds left\); "
        r"beta: breaker open \(\d+\.\ds left\); gamma: breaker open \(\d+\.\ds left\)",
        message,
    )
    assert body == [
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32050, "message": message}},
        {"jsonrpc": "2.0", "id": 2, "error": {"code": -32050, "message": message}},
    ]


async def test_mixed_causes_in_one_message(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], failures=1, open_for=60)
    await alpha.stop()
    await lab.post(gateway, rpc())  # alpha refuses: its breaker opens, beta answers
    await beta.stop()
    status, _, body = await lab.post(gateway, rpc())
    assert status == 503
    assert re.fullmatch(
        r"no upstream available: alpha: breaker open \(\d+\.\ds left\); beta: connection refused",
        body["error"]["message"],
    )


# -- the judging rules, without sockets --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "batch", "verdict"),
    [
        (200, b'{"jsonrpc":"2.0","id":1,"result":"0x1"}', False, Verdict.ANSWER),
        (
            200,
            b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}',
            False,
            Verdict.FAILURE,
        ),
        (
            200,
            b'{"jsonrpc":"2.0","id":1,"error":{"code":-32099,"message":"x"}}',
            False,
            Verdict.FAILURE,
        ),
        (
            200,
            b'{"jsonrpc":"2.0","id":1,"error":{"code":-32100,"message":"x"}}',
            False,
            Verdict.ANSWER,
        ),
        (
            200,
            b'[{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"x"}}]',
            True,
            Verdict.ANSWER,
        ),
        (
            400,
            b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}',
            False,
            Verdict.ANSWER,
        ),
        (404, b"not found", False, Verdict.FAILURE),
        (200, b"<html>", False, Verdict.FAILURE),
        (502, b'{"jsonrpc":"2.0","id":1,"result":"0x1"}', True, Verdict.FAILURE),
        (429, b"", False, Verdict.RATE_LIMITED),
    ],
)
def test_judge_response(status: int, body: bytes, batch: bool, verdict: Verdict) -> None:
    assert judge_response(status, body, batch=batch, expects_reply=True)[0] is verdict


def test_empty_answer_is_fine_only_for_notifications() -> None:
    assert judge_response(200, b"", batch=False, expects_reply=False)[0] is Verdict.ANSWER
    assert judge_response(200, b"", batch=False, expects_reply=True)[0] is Verdict.FAILURE


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("9999") == 60.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
