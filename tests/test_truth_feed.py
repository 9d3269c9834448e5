"""The lab's ``/truth`` feed and a replica following it, over a real WebSocket: the replica
sees the lab's reorgs, and a stopping lab ends its feeds itself so neither side waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from helpers.waiting import wait_until

from battletui.lab import LabServer
from battletui.scenario import ChainSpec, ProviderSpec, Scenario
from battletui.workload.truth import ChainReplica

TOKEN = "truth-token"
CHAIN = ChainSpec(id=7, block_time=0.2)


@pytest.fixture
async def lab() -> AsyncIterator[LabServer]:
    scenario = Scenario(
        name="truth",
        duration=10.0,
        seed=3,
        chain=CHAIN,
        providers=(ProviderSpec("alpha", latency=0.001),),
    )
    server = LabServer(scenario, token=TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def replica_of(lab: LabServer) -> ChainReplica:
    url = lab.control_url.replace("http://", "ws://", 1) + "/truth"
    return ChainReplica(url, TOKEN, seed=3, chain_id=CHAIN.id, block_time=CHAIN.block_time)


async def test_a_replica_follows_the_labs_reorgs(lab: LabServer) -> None:
    replica = replica_of(lab)
    await replica.start()
    try:
        await wait_until(lambda: lab.chain.head_number() >= 3, what="three blocks")
        lab.chain.reorg(2)
        await wait_until(
            lambda: replica.chain.fork_times == lab.chain.fork_times, what="the fork replayed"
        )
        head = lab.chain.head_number() - 1  # the lab's newest block may not be the replica's yet
        ours, theirs = replica.chain.block(head), lab.chain.block(head)
        assert ours is not None and theirs is not None and ours.hash == theirs.hash
    finally:
        await replica.stop()


async def test_a_stopping_lab_ends_its_feeds_itself(lab: LabServer) -> None:
    """aiohttp stops reading as its shutdown begins: a feed left open would hold the lab's
    stop for its whole shutdown timeout (60 s), and a replica closing meanwhile would wait
    out its own close timeout. The lab closes its feeds first (1001), while it still reads."""
    replica = replica_of(lab)
    await replica.start()
    try:
        await asyncio.wait_for(lab.stop(), timeout=20)
        await wait_until(lambda: replica.lost, what="the replica told the lab is gone")
    finally:
        await replica.stop()
