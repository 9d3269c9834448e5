"""Applies an action and proves, over the socket, that it took effect.

An action that did not really happen raises ``ChaosError``; the session then shows it to the
operator and journals it as not applied, never as a silent pass.
"""

from __future__ import annotations

import aiohttp

from battletui.engine.chaos.availability import verify_answers, verify_hung, verify_refused
from battletui.engine.chaos.chain import reorg, verify_lagging
from battletui.engine.chaos.errors import errors
from battletui.engine.chaos.gateway import strategy
from battletui.engine.chaos.latency import degrade
from battletui.engine.chaos.rpc import ChaosError
from battletui.engine.chaos.websocket import ws_drop
from battletui.engine.lab import Lab
from battletui.scenario import Action

__all__ = ["ChaosError", "apply_fault"]


async def apply_fault(lab: Lab, action: Action, http: aiohttp.ClientSession) -> str:
    """Apply ``action`` to its provider and verify it; return what the check saw."""
    if action.kind == "mark":
        return "mark"
    if action.kind == "reorg":
        return await reorg(lab, int(action.params.get("depth", 1)), http)
    if action.kind == "strategy":
        return await strategy(lab, str(action.params.get("name", "")), http)
    if action.target is None or action.target not in lab.providers:
        raise ChaosError(f"unknown provider {action.target!r}")
    provider = lab.provider(action.target)
    if action.kind == "kill":
        await provider.kill()
        return await verify_refused(provider, "kill")
    if action.kind == "flap":
        await provider.flap(
            float(action.params.get("down", 2.0)),
            float(action.params.get("up", 3.0)),
            int(action.params.get("cycles", 0)),
        )
        return await verify_refused(provider, "flap")
    if action.kind == "restore":
        await provider.restore()
        return await verify_answers(provider, http)
    if action.kind == "degrade":
        return await degrade(provider, action, http)
    if action.kind == "ws-drop":
        return await ws_drop(provider, http)
    if action.kind == "errors":
        return await errors(provider, action, http)
    if action.kind == "hang":
        await provider.hang()
        return await verify_hung(provider)
    if action.kind == "lag":
        await provider.lag()
        return await verify_lagging(lab, provider, http)
    raise ChaosError(f"unknown action {action.kind!r}")
