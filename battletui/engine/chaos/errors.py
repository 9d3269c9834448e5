"""Injected error answers: applied by the lab, checked by probing until one comes back as
promised."""

from __future__ import annotations

import aiohttp

from battletui.engine.chaos.handle import Endpoint, LabHandle, applied
from battletui.engine.chaos.rpc import ChaosError, rpc
from battletui.protocol.errors import describe_error
from battletui.scenario import Action

ERROR_PROBES = 60
"""Most requests sent to see an injected error (a 5% rate shows within 60 with ~95% odds)."""


def matches(kind: str, code: int, status: int, answer: dict[str, object]) -> bool:
    error = answer.get("error")
    error_code = error.get("code") if isinstance(error, dict) else None
    if kind == "server-error":
        return status >= 500
    if kind == "rate-limit":
        return status == 429 and error_code == -32005
    return status == 200 and error_code == code


async def errors(
    lab: LabHandle, provider: Endpoint, action: Action, http: aiohttp.ClientSession
) -> str:
    """The lab refuses a killed provider (409); a rate of 0 clears."""
    faults = (await applied(lab, action)).faults
    rate = faults.error_rate
    if rate == 0:
        return "errors cleared"
    kind = faults.error_kind or "server-error"
    code = faults.error_code if faults.error_code is not None else -32603
    for sent in range(1, ERROR_PROBES + 1):
        try:
            status, answer, _, headers = await rpc(http, provider.url, "eth_blockNumber")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ChaosError(
                f"errors {provider.id}: probe failed: {describe_error(error)}"
            ) from error
        if matches(kind, code, status, answer):
            extra = f" Retry-After {headers.get('Retry-After')}" if kind == "rate-limit" else ""
            return f"probe {sent} answered HTTP {status}{extra} ({kind})"
    raise ChaosError(f"errors {provider.id}: no {kind} in {ERROR_PROBES} probes at {rate * 100:g}%")
