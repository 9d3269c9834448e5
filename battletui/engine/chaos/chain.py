"""Faults of the chain's view: a lagging head, a reorganisation. Applied by the lab, checked
over JSON-RPC against the canonical chain the lab reports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import aiohttp

from battletui.engine.chaos.handle import Endpoint, LabHandle
from battletui.engine.chaos.rpc import VERIFY_DEADLINE, ChaosError, block_hashes, head_of
from battletui.engine.lab_client import Applied, LabRequestError, ProviderState

WITNESS_TRIES = 8


async def verify_lagging(
    lab: LabHandle, provider: Endpoint, applied: Applied, http: aiohttp.ClientSession
) -> str:
    """Its head must stay at the frozen one while the canonical chain moves past it."""
    frozen = int(applied.detail.get("head", applied.faults.lag_head or 0))
    served = await head_of(http, provider.url)
    if served != frozen:
        raise ChaosError(f"lag {provider.id}: it serves #{served}, not the frozen #{frozen}")
    wait = float(applied.detail.get("next_block_in", 0.0))
    block_time = lab.scenario.chain.block_time
    deadline = time.monotonic() + wait + block_time + VERIFY_DEADLINE
    await asyncio.sleep(wait)
    while (chain_head := await _canonical_head(lab, provider)) <= frozen:
        if time.monotonic() > deadline:
            raise ChaosError(f"lag {provider.id}: the chain did not move on to compare")
        await asyncio.sleep(min(0.05, block_time / 4))
    now = await head_of(http, provider.url)
    if now != frozen:
        raise ChaosError(f"lag {provider.id}: head moved from #{frozen} to #{now}")
    return f"head frozen at #{frozen} while the chain is at #{chain_head}"


async def _canonical_head(lab: LabHandle, provider: Endpoint) -> int:
    try:
        return await lab.client.head()
    except LabRequestError as error:
        raise ChaosError(f"lag {provider.id}: {error}") from error


def first_witness(lab: LabHandle, states: Mapping[str, ProviderState]) -> Endpoint | None:
    """A provider that can show the chain as it is now: up, answering, not lagging, and
    preferably not injecting errors (one that is may still answer, after retries)."""
    usable = [
        lab.providers[pid]
        for pid, state in states.items()
        if pid in lab.providers
        and not (state.faults.killed or state.faults.hung or state.faults.lagging)
    ]
    clean = [p for p in usable if not states[p.id].faults.error_rate]
    candidates = clean or usable
    return candidates[0] if candidates else None


async def reorg(lab: LabHandle, depth: int, http: aiohttp.ClientSession) -> str:
    """Replace the chain's last ``depth`` blocks; a provider must then serve the new hashes."""
    try:
        state = await lab.client.state()
    except LabRequestError as error:
        raise ChaosError(f"reorg: {error}") from error
    witness = first_witness(lab, state.providers)
    if witness is None:
        raise ChaosError("reorg: no provider is up (and not lagging) to show the new chain")
    try:
        replaced = await lab.client.reorg(depth)
    except LabRequestError as error:
        raise ChaosError(f"reorg: {error}") from error
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
