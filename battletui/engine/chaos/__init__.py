"""Applies an action through the lab's fault-control endpoint and proves, over the
provider's own socket, that it took effect.

An action that did not really happen raises ``ChaosError``; the session then shows it to the
operator and journals it as not applied, never as a silent pass.
"""

from __future__ import annotations

import aiohttp

from battletui.engine.chaos.availability import verify_answers, verify_hung, verify_refused
from battletui.engine.chaos.chain import reorg, verify_lagging
from battletui.engine.chaos.errors import errors
from battletui.engine.chaos.gateway import StrategySwitch, strategy
from battletui.engine.chaos.handle import Endpoint, LabHandle, applied
from battletui.engine.chaos.latency import degrade
from battletui.engine.chaos.rpc import ChaosError
from battletui.engine.chaos.websocket import ws_drop
from battletui.scenario import Action

__all__ = ["ChaosError", "Endpoint", "LabHandle", "StrategySwitch", "apply_fault"]


async def apply_fault(
    lab: LabHandle,
    action: Action,
    http: aiohttp.ClientSession,
    *,
    switch: StrategySwitch | None = None,
) -> str:
    """Apply ``action`` and verify it; return what the check saw.

    ``http`` makes the verifying requests (fresh connections to the providers' ports);
    ``switch`` changes the gateway's strategy over its admin endpoint (None: a strategy
    action is refused).
    """
    if action.kind == "mark":
        return "mark"
    if action.kind == "reorg":
        return await reorg(lab, int(action.params.get("depth", 1)), http)
    if action.kind == "strategy":
        return await strategy(switch, str(action.params.get("name", "")))
    if action.target is None or action.target not in lab.providers:
        raise ChaosError(f"unknown provider {action.target!r}")
    provider = lab.providers[action.target]
    if action.kind in ("kill", "flap"):
        await applied(lab, action)
        return await verify_refused(provider, action.kind)
    if action.kind == "restore":
        await applied(lab, action)
        return await verify_answers(provider, http)
    if action.kind == "degrade":
        return await degrade(lab, provider, action, http)
    if action.kind == "ws-drop":
        return await ws_drop(lab, provider, action, http)
    if action.kind == "errors":
        return await errors(lab, provider, action, http)
    if action.kind == "hang":
        await applied(lab, action)
        return await verify_hung(provider)
    if action.kind == "lag":
        return await verify_lagging(lab, provider, await applied(lab, action), http)
    raise ChaosError(f"unknown action {action.kind!r}")
