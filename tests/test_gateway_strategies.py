"""Selection strategies of the reference gateway, against fake upstreams over real sockets.

The fakes (``helpers.fake_upstream``, never ``battletui.providers``) are tiny aiohttp JSON-RPC
endpoints on 127.0.0.1 with a delay per method and a switchable HTTP status.
"""

from __future__ import annotations

import collections
import random
from collections.abc import AsyncIterator

import pytest
from helpers.gateway_rig import GatewayRig, GatewaySettings, gateway_rig

from battletui.gateway import Gateway, Upstream
from battletui.gateway.selection import LatencyWeighted
from battletui.scenario import GatewaySpec

SETTINGS = GatewaySettings(failures=50, min_calls=1000, open_for=60.0, seed=7)
"""Breakers that stay out of the way: these tests watch the strategies choose."""


@pytest.fixture
async def lab() -> AsyncIterator[GatewayRig]:
    async with gateway_rig(SETTINGS) as lab:
        yield lab


# -- fastest -----------------------------------------------------------------------------------


async def test_fastest_is_judged_per_method(lab: GatewayRig) -> None:
    # alpha is the fastest, except on eth_getLogs; beta is steady at 15 ms.
    alpha = await lab.fake("alpha", delays={"eth_getLogs": 0.08})
    beta = await lab.fake("beta", delay=0.015)
    gateway = await lab.gateway([alpha, beta], "fastest")
    first = await lab.served_by(gateway, 6)
    assert sorted(first[:2]) == ["alpha", "beta"], "each unmeasured provider is measured first"
    assert first[2:] == ["alpha"] * 4
    logs = await lab.served_by(gateway, 8, "eth_getLogs")
    assert logs[-5:] == ["beta"] * 5, logs
    assert alpha.method_hits["eth_getLogs"] <= 2, "a slow method is measured, then left"
    assert await lab.served_by(gateway, 5) == ["alpha"] * 5, "alpha keeps eth_blockNumber"
    stats = gateway.stats()
    assert stats["alpha"].method_latency_ms["eth_getLogs"] > 60
    assert stats["beta"].method_latency_ms["eth_getLogs"] < 60
    assert stats["alpha"].method_latency_ms["eth_blockNumber"] < 10


async def test_one_slow_sample_does_not_flip_fastest(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta", delay=0.02)
    gateway = await lab.gateway([alpha, beta], "fastest")
    assert (await lab.served_by(gateway, 6))[2:] == ["alpha"] * 4
    alpha.slow_once = 0.2  # one hiccup, ten times beta's latency
    assert await lab.served_by(gateway, 1) == ["alpha"]
    assert await lab.served_by(gateway, 5) == ["alpha"] * 5, "the median shrugs it off"
    # A lasting slowdown does move the traffic, within a few requests.
    alpha.delay = 0.06
    served = await lab.served_by(gateway, 10)
    assert served[-4:] == ["beta"] * 4, served


# -- priority ----------------------------------------------------------------------------------


async def test_priority_follows_the_list_and_fails_over_in_order(lab: GatewayRig) -> None:
    gamma = await lab.fake("gamma", delay=0.02)  # the slowest, but listed first
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([gamma, alpha, beta], "priority")
    assert await lab.served_by(gateway, 5) == ["gamma"] * 5
    gamma.status = 503
    assert await lab.call(gateway) == (200, "alpha", 1)
    alpha.status = 503
    assert await lab.call(gateway) == (200, "beta", 2)
    assert [e.failed for e in lab.failovers] == [
        (("gamma", "HTTP 503"),),
        (("gamma", "HTTP 503"), ("alpha", "HTTP 503")),
    ]
    assert [e.served_by for e in lab.failovers] == ["alpha", "beta"]
    gamma.status = alpha.status = 200
    assert await lab.served_by(gateway, 3) == ["gamma"] * 3


# -- round-robin -------------------------------------------------------------------------------


async def test_round_robin_spreads_evenly(lab: GatewayRig) -> None:
    fakes = [await lab.fake(name, delay=d) for name, d in (("a", 0.0), ("b", 0.01), ("c", 0.0))]
    fakes.append(await lab.fake("d"))
    gateway = await lab.gateway(fakes, "round-robin")
    served = await lab.served_by(gateway, 40)
    assert collections.Counter(served) == {"a": 10, "b": 10, "c": 10, "d": 10}
    assert served[:4] == ["a", "b", "c", "d"]


# -- latency-weighted --------------------------------------------------------------------------


def test_latency_weighted_draws_by_inverse_square_latency() -> None:
    latency = {"a": 10.0, "b": 20.0, "c": 40.0}

    def estimate(uid: str, method: str | None) -> float | None:
        return latency[uid]

    selector = LatencyWeighted(("c", "a", "b"), estimate, random.Random(1))
    orders = [selector.order("eth_blockNumber") for _ in range(20_000)]
    firsts = collections.Counter(order[0] for order in orders)
    weights = {uid: 1 / ms**2 for uid, ms in latency.items()}
    total = sum(weights.values())
    for uid, weight in weights.items():  # 76 %, 19 %, 5 %
        assert firsts[uid] / len(orders) == pytest.approx(weight / total, abs=0.015)
    for order in orders:
        rest = order[1:]
        assert sorted(order) == ["a", "b", "c"]
        assert rest == sorted(rest, key=latency.__getitem__), "failover by latency"

    def draws(seed: int) -> list[list[str]]:
        chooser = LatencyWeighted(("a", "b", "c"), estimate, random.Random(seed))
        return [chooser.order() for _ in range(200)]

    assert draws(5) == draws(5), "same seed, same choices"
    assert draws(5) != draws(6)


def test_latency_weighted_measures_the_unmeasured_first() -> None:
    latency: dict[str, float | None] = {"a": 5.0, "b": None, "c": 50.0}

    def estimate(uid: str, method: str | None) -> float | None:
        return latency[uid]

    selector = LatencyWeighted(("a", "b", "c"), estimate, random.Random(1))
    assert all(selector.order()[0] == "b" for _ in range(50))
    latency["a"] = latency["c"] = None
    assert selector.order() == ["a", "b", "c"]


async def test_latency_weighted_spreads_real_traffic(lab: GatewayRig) -> None:
    """Real traffic, judged with a stated false-failure rate.

    The gateway draws alpha with probability p = l_b² / (l_a² + l_b²) from the latencies it
    measures. Those are the fakes' delays (5 ms, 40 ms) plus whatever this machine adds, o,
    the same for both since requests go one at a time (no queueing of our own): p is 0.98
    with o = 0, 0.92 with o = 10 ms, 0.80 with 30 ms, and stays above 0.70 up to 62 ms.
    With p >= 0.70 and n = 300, fewer than 0.55·n alpha answers is a binomial lower tail
    at z = -5.7:
    a false failure below 1 in 10,000,000 (the run that once failed had 20 requests in
    flight at a time against 10 ms vs 20 ms, where queueing hid the difference). How often
    the slower one is drawn is the seeded, deterministic test above."""
    alpha = await lab.fake("alpha", delay=0.005)
    beta = await lab.fake("beta", delay=0.040)
    gateway = await lab.gateway([alpha, beta], "latency-weighted")
    await lab.served_by(gateway, 4)  # both measured
    served = collections.Counter(await lab.served_by(gateway, 300))
    share = served["alpha"] / 300
    assert share >= 0.55, served  # (the weights themselves: the seeded test above)


# -- switching live ----------------------------------------------------------------------------


async def test_set_strategy_switches_live(lab: GatewayRig) -> None:
    alpha = await lab.fake("alpha")
    beta = await lab.fake("beta")
    gateway = await lab.gateway([alpha, beta], "priority")
    assert gateway.strategy == "priority"
    assert await lab.served_by(gateway, 4) == ["alpha"] * 4
    gateway.set_strategy("round-robin")
    assert gateway.strategy == "round-robin"
    assert collections.Counter(await lab.served_by(gateway, 6)) == {"alpha": 3, "beta": 3}
    async with lab.client.get(gateway.url + "/health") as response:
        assert (await response.json())["strategy"] == "round-robin"
    with pytest.raises(ValueError, match="unknown strategy 'slowest'"):
        gateway.set_strategy("slowest")
    assert gateway.strategy == "round-robin"
    gateway.set_strategy("round-robin")  # no change, no event
    gateway.set_strategy("latency-weighted")
    assert [(e.kind, e.provider, e.detail) for e in lab.events] == [
        ("strategy", None, "priority \N{RIGHTWARDS ARROW} round-robin"),
        ("strategy", None, "round-robin \N{RIGHTWARDS ARROW} latency-weighted"),
    ]
    served = await lab.served_by(gateway, 10)
    assert set(served) <= {"alpha", "beta"}


def test_unknown_strategy_in_the_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        Gateway(GatewaySpec(strategy="slowest"), [Upstream("alpha", "http://127.0.0.1:1/")])
