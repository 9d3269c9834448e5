"""WebSocket continuity end to end: real mock providers, the reference gateway in front,
real subscribers checking every head. No part reads another's memory to fake a number.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from helpers.inprocess_rig import InProcessRig
from helpers.waiting import wait_until

from battletui.gateway import Gateway
from battletui.metrics import WsMetrics
from battletui.protocol.events import WsFeedEvent
from battletui.scenario import (
    GatewaySpec,
    HttpLoadSpec,
    ProviderSpec,
    Scenario,
    WorkloadSpec,
    WsLoadSpec,
)
from battletui.scenario.model import BreakerSpec, ChainSpec
from battletui.workload import StreamChecker, WsLoad

BLOCK_TIME = 0.2


def ws_scenario(backfill_limit: int = 128, stall: float = 1.0) -> Scenario:
    return Scenario(
        name="ws",
        duration=60,
        seed=9,
        chain=ChainSpec(id=1, block_time=BLOCK_TIME),
        providers=(
            ProviderSpec("alpha", latency=0.003),
            ProviderSpec("beta", latency=0.006),
            ProviderSpec("gamma", latency=0.009),
        ),
        gateway=GatewaySpec(
            strategy="fastest",
            breaker=BreakerSpec(failures=3, open_for=0.5, half_open_probes=1, successes=1),
            ws_stall_timeout=stall,
            ws_backfill_limit=backfill_limit,
        ),
        workload=WorkloadSpec(http=HttpLoadSpec(rate=0), ws=WsLoadSpec(subscribers=4)),
    )


@dataclass
class Rig:
    lab: InProcessRig
    metrics: WsMetrics
    load: WsLoad
    feed: list[WsFeedEvent]

    @property
    def checkers(self) -> list[StreamChecker]:
        return self.load.checkers

    def lowest_head(self) -> int:
        return min(c.last_number or 0 for c in self.checkers)

    async def wait_heads(self, count: int, timeout: float = 10.0) -> None:
        """Wait until every subscriber has seen ``count`` more heads than now."""
        target = self.lab.chain.head_number() + count
        await wait_until(
            lambda: self.lowest_head() >= target,
            timeout=timeout,
            what=f"every subscriber past block {target}",
        )

    def assert_whole(self) -> None:
        """Every subscriber: each block exactly once, in order, from its first head on."""
        for index, checker in enumerate(self.checkers):
            counts = (checker.gaps, checker.duplicates, checker.broken_links, checker.reorgs)
            assert counts == (0, 0, 0, 0), f"subscriber {index}: gaps/dups/broken/reorgs {counts}"
            assert checker.first_number is not None and checker.last_number is not None
            assert checker.heads == checker.last_number - checker.first_number + 1


MakeRig = Callable[[Scenario], Awaitable[Rig]]
"""The ``make_rig`` fixture: starts a rig for a scenario, stopped when the test ends."""


@pytest.fixture
async def make_rig() -> AsyncIterator[MakeRig]:
    rigs: list[Rig] = []

    async def build(scenario: Scenario) -> Rig:
        feed: list[WsFeedEvent] = []
        lab = InProcessRig(scenario, on_ws_event=feed.append)
        await lab.start()
        metrics = WsMetrics(4, time.monotonic)
        load = WsLoad(lab.gateway_ws_url, scenario.workload.ws, metrics)
        await load.start()
        rig = Rig(lab, metrics, load, feed)
        rigs.append(rig)
        await wait_until(
            lambda: all(c.heads >= 2 for c in rig.checkers),
            timeout=10,
            what="every subscriber to get heads",
        )
        return rig

    yield build
    for rig in rigs:
        await rig.load.stop()
        await rig.lab.stop()


def gateway_of(rig: Rig) -> Gateway:
    assert rig.lab.gateway is not None
    return rig.lab.gateway


def serving(rig: Rig) -> str:
    upstream = gateway_of(rig).ws_upstream
    assert upstream is not None
    return upstream


async def test_kill_the_serving_provider_every_block_exactly_once(make_rig: MakeRig) -> None:
    rig = await make_rig(ws_scenario())
    victim = serving(rig)
    await rig.lab.provider(victim).kill()
    await wait_until(
        lambda: gateway_of(rig).ws_upstream not in (None, victim),
        timeout=5,
        what="the gateway to move its subscription",
    )
    await rig.wait_heads(8)
    rig.assert_whole()
    assert rig.metrics.reconnects == 0  # the clients' own sockets never dropped


async def test_rapid_switching_two_providers_flapping_in_turn(make_rig: MakeRig) -> None:
    rig = await make_rig(ws_scenario())
    first = serving(rig)
    second = next(p for p in ("alpha", "beta", "gamma") if p != first)
    await rig.lab.provider(first).flap(0.35, 0.35)
    await asyncio.sleep(0.2)  # offset the second flap by half a phase, not a wait for a result
    await rig.lab.provider(second).flap(0.35, 0.35)
    await rig.wait_heads(20, timeout=15)
    await rig.lab.provider(first).restore()
    await rig.lab.provider(second).restore()
    await rig.wait_heads(4)
    rig.assert_whole()


async def test_all_down_then_one_restored_backfills_what_was_missed(make_rig: MakeRig) -> None:
    rig = await make_rig(ws_scenario())
    for provider in rig.lab.providers.values():
        await provider.kill()
    before = rig.lowest_head()
    await wait_until(
        lambda: rig.lab.chain.head_number() >= before + 8,
        timeout=5,
        what="the chain to move on while everything is down",
    )
    assert rig.lowest_head() <= before + 1  # nothing could be delivered meanwhile
    await rig.lab.provider("gamma").restore()
    await rig.wait_heads(4)
    rig.assert_whole()  # the outage's blocks were backfilled: no gap at all


async def test_backfill_cap_leaves_an_honest_gap_of_exactly_the_rest(make_rig: MakeRig) -> None:
    limit = 3
    rig = await make_rig(ws_scenario(backfill_limit=limit))
    for provider in rig.lab.providers.values():
        await provider.kill()
    await wait_until(
        lambda: rig.metrics.current_stall() > 3 * BLOCK_TIME, timeout=5, what="the stream to stop"
    )
    last_delivered = {c.last_number for c in rig.checkers}
    assert len(last_delivered) == 1, "all subscribers stopped at the same head"
    last = last_delivered.pop()
    assert last is not None
    await wait_until(
        lambda: rig.lab.chain.head_number() >= last + 10, timeout=5, what="ten blocks to pass"
    )
    await rig.lab.provider("beta").restore()
    await rig.wait_heads(3)
    # What the gateway says it fetched and what it could not (its own account) ...
    backfills = [e for e in rig.feed if e.kind == "backfill"]
    gaps = [e for e in rig.feed if e.kind == "gap"]
    assert len(backfills) == 1 and len(gaps) == 1, [e.detail for e in rig.feed]
    filled = re.match(r"(\d+) heads #(\d+)-#(\d+)", backfills[0].detail)
    lost = re.match(r"(\d+) heads #(\d+)-#(\d+)", gaps[0].detail)
    assert filled and lost, (backfills[0].detail, gaps[0].detail)
    assert int(filled[1]) == limit, "the backfill is capped at ws_backfill_limit"
    lost_count, lost_from, lost_to = (int(x) for x in lost.groups())
    # ... is exactly the blocks between the last delivered head and the backfilled ones ...
    assert lost_from == last + 1 and lost_to == int(filled[2]) - 1
    assert lost_count == lost_to - lost_from + 1 >= 7  # at least 10 blocks passed, 3 filled
    # ... and exactly what every subscriber measured on its own stream.
    for checker in rig.checkers:
        assert checker.gaps == 1 and checker.missing_blocks == lost_count
        assert checker.duplicates == 0 and checker.broken_links == 0


async def test_stalled_upstream_is_abandoned_after_the_stall_timeout(make_rig: MakeRig) -> None:
    rig = await make_rig(ws_scenario(stall=0.6))
    victim = serving(rig)
    # A 1.5 s added latency: the socket stays open, heads stop arriving in time.
    await rig.lab.provider(victim).degrade(1.5)
    await wait_until(
        lambda: gateway_of(rig).ws_upstream not in (None, victim),
        timeout=5,
        what="the gateway to give up on the stalled upstream",
    )
    await rig.wait_heads(6)
    rig.assert_whole()


async def test_ws_drop_on_the_serving_provider_resubscribes_without_a_break(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(ws_scenario())
    victim = serving(rig)
    closed = await rig.lab.provider(victim).ws_drop()
    assert closed >= 1
    await rig.wait_heads(6)
    rig.assert_whole()


@pytest.mark.parametrize("target", ["provider", "gateway"])
async def test_web3_py_subscribes_unmodified(target: str) -> None:
    """A standard client, web3.py's AsyncWeb3 + WebSocketProvider, works as is."""
    from web3 import AsyncWeb3, WebSocketProvider

    lab = InProcessRig(ws_scenario())
    await lab.start()
    try:
        url = lab.gateway_ws_url if target == "gateway" else lab.provider("alpha").ws_url
        async with AsyncWeb3(WebSocketProvider(url)) as w3:
            assert await w3.eth.chain_id == 1
            latest = await w3.eth.get_block("latest")
            subscription = await w3.eth.subscribe("newHeads")
            heads = []

            async def collect() -> None:
                async for message in w3.socket.process_subscriptions():
                    heads.append(message["result"])
                    if len(heads) == 3:
                        return

            await asyncio.wait_for(collect(), timeout=10)
            assert await w3.eth.unsubscribe(subscription) is True
        numbers = [head["number"] for head in heads]
        assert numbers == list(range(numbers[0], numbers[0] + 3))
        assert numbers[0] > latest["number"]
        assert heads[1]["parentHash"] == heads[0]["hash"]
        assert heads[2]["parentHash"] == heads[1]["hash"]
    finally:
        await lab.stop()
