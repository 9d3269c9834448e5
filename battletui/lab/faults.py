"""One fault applied to one mock provider, from the parameters of an ``Action``.

The preconditions live here, next to the providers they protect: a killed provider has no
latency to degrade, no errors to inject and no WebSockets to drop, so those are refused
(409) with a reason the operator can act on. Bad parameters are refused (400).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from battletui.chain import MockChain
from battletui.providers import MockProvider

FAULT_KINDS: Final = ("kill", "restore", "flap", "degrade", "errors", "hang", "lag", "ws-drop")
NEEDS_UP: Final = frozenset({"degrade", "errors", "ws-drop"})
DOWN: Final = "it is down; restore it first"

Params = Mapping[str, object]
Detail = dict[str, object]


class FaultRefused(Exception):
    """The fault was not applied: ``status`` (HTTP) and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = " ".join(reason.split())


def number(params: Params, name: str, default: float) -> float:
    """A numeric parameter (seconds, rates); booleans and text are refused."""
    value = params.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultRefused(400, f"{name} must be a number, got {value!r}")
    return float(value)


def integer(params: Params, name: str, default: int) -> int:
    value = number(params, name, default)
    if value != int(value):
        raise FaultRefused(400, f"{name} must be a whole number, got {value!r}")
    return int(value)


def text(params: Params, name: str, default: str) -> str:
    value = params.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FaultRefused(400, f"{name} must be text, got {value!r}")
    return value


async def apply_provider_fault(
    provider: MockProvider, chain: MockChain, kind: str, params: Params
) -> Detail:
    """Apply ``kind`` with ``params`` to ``provider``; returns what was done, in JSON.

    Returns once the fault is in effect locally (see ``MockProvider``); raises
    ``FaultRefused`` when it was not applied at all.
    """
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise FaultRefused(404, f"unknown fault {kind!r} (known: {', '.join(FAULT_KINDS)})")
    if kind in NEEDS_UP and provider.faults.killed:
        raise FaultRefused(409, DOWN)
    try:
        return await handler(provider, chain, params)
    except ValueError as error:  # the provider's own checks of the values
        raise FaultRefused(400, str(error)) from error


async def _kill(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    await provider.kill()
    return {"port": provider.port}


async def _restore(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    await provider.restore()
    return {"port": provider.port}


async def _flap(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    down = number(params, "down", 2.0)
    up = number(params, "up", 3.0)
    cycles = integer(params, "cycles", 0)
    await provider.flap(down, up, cycles)
    return {"port": provider.port, "down": down, "up": up, "cycles": cycles}


async def _degrade(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    """Absolute, or a step on top of what is added already (``relative``)."""
    latency = number(params, "latency", 0.0)
    jitter = number(params, "jitter", 0.0)
    method = text(params, "method", "") or None
    if params.get("relative"):
        faults = provider.faults
        if method is None:
            latency += faults.added_latency
            jitter += faults.added_jitter
        else:
            latency += faults.method_latency.get(method, 0.0)
            jitter += faults.method_jitter.get(method, 0.0)
    await provider.degrade(latency, jitter, method=method)
    return {"latency": latency, "jitter": jitter, "method": method}


async def _errors(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    rate = number(params, "rate", 0.0)
    kind = text(params, "kind", "server-error")
    code = integer(params, "code", -32603)
    retry_after = number(params, "retry_after", 1.0)
    await provider.errors(rate, kind, code=code, retry_after=retry_after)
    faults = provider.faults
    return {"rate": rate, "kind": kind, "code": faults.error_code, "retry_after": retry_after}


async def _hang(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    await provider.hang()
    return {"port": provider.port}


async def _lag(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    """The frozen head, and when the chain's next block is due (to compare against)."""
    frozen = await provider.lag()
    head = chain.head_number()
    return {"head": frozen, "chain_head": head, "next_block_in": chain.seconds_until(head + 1)}


async def _ws_drop(provider: MockProvider, chain: MockChain, params: Params) -> Detail:
    return {"closed": await provider.ws_drop()}


_HANDLERS: Final[dict[str, Callable[[MockProvider, MockChain, Params], Awaitable[Detail]]]] = {
    "kill": _kill,
    "restore": _restore,
    "flap": _flap,
    "degrade": _degrade,
    "errors": _errors,
    "hang": _hang,
    "lag": _lag,
    "ws-drop": _ws_drop,
}
