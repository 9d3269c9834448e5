"""Live changes to the gateway under test. Where they go (the reference gateway's admin
endpoint, or nowhere for an external gateway) is the integrator's ``switch``; it returns
what verified the change, and raises ``ChaosError`` or ``ValueError`` when it did not
happen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from battletui.engine.chaos.rpc import ChaosError

StrategySwitch = Callable[[str], Awaitable[str]]


async def strategy(switch: StrategySwitch | None, name: str) -> str:
    if switch is None:
        raise ChaosError("strategy: this gateway's strategy cannot be switched from here")
    try:
        return await switch(name)
    except ValueError as error:
        raise ChaosError(f"strategy: {error}") from error
