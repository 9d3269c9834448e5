"""Faults of the chain's view: a lagging head, a reorganisation. Checked over JSON-RPC."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from battletui.engine.chaos.rpc import VERIFY_DEADLINE, ChaosError, block_hashes, head_of
from battletui.engine.lab import Lab
from battletui.providers import MockProvider

WITNESS_TRIES = 8


async def verify_lagging(lab: Lab, provider: MockProvider, http: aiohttp.ClientSession) -> str:
    """Its head must stay put while the chain moves on (waits up to one block)."""
    frozen = await head_of(http, provider.url)
    deadline = time.monotonic() + lab.scenario.chain.block_time + VERIFY_DEADLINE
    while lab.chain.head_number() <= frozen:
        if time.monotonic() > deadline:
            raise ChaosError(f"lag {provider.id}: the chain did not move on to compare")
        await asyncio.sleep(min(0.05, lab.scenario.chain.block_time / 4))
    now = await head_of(http, provider.url)
    if now != frozen:
        raise ChaosError(f"lag {provider.id}: head moved from #{frozen} to #{now}")
    return f"head frozen at #{frozen} while the chain is at #{lab.chain.head_number()}"


def first_witness(lab: Lab) -> MockProvider | None:
    """A provider that can show the chain as it is now: up, answering, not lagging, and
    preferably not injecting errors (one that is may still answer, after retries)."""
    usable = [
        p
        for p in lab.providers.values()
        if not (p.faults.killed or p.faults.hung or p.faults.lagging)
    ]
    clean = [p for p in usable if not p.faults.error_rate]
    candidates = clean or usable
    return candidates[0] if candidates else None


async def reorg(lab: Lab, depth: int, http: aiohttp.ClientSession) -> str:
    """Replace the chain's last ``depth`` blocks; a provider must then serve the new hashes."""
    witness = first_witness(lab)
    if witness is None:
        raise ChaosError("reorg: no provider is up (and not lagging) to show the new chain")
    replaced = lab.chain.reorg(depth)
    if not replaced:
        raise ChaosError("reorg: the chain replaced nothing")
    numbers = range(replaced[0][0], replaced[-1][0] + 1)
    expected = {number: new for number, _, new in replaced}
    if any(new == old for _, old, new in replaced):
        raise ChaosError("reorg: a replaced block kept its hash")
    served: dict[int, str | None] = {}
    for _ in range(WITNESS_TRIES):  # a witness injecting errors may need a few asks
        try:
            served = await block_hashes(http, witness.url, numbers)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            continue
        if served == expected:
            break
    wrong = [n for n in numbers if served.get(n) != expected[n]]
    if wrong:
        raise ChaosError(
            f"reorg: {witness.id} serves {served.get(wrong[0])} at #{wrong[0]},"
            f" not {expected[wrong[0]]}"
        )
    return f"#{numbers.start}-#{numbers.stop - 1} replaced; {witness.id} serves the new hashes"
