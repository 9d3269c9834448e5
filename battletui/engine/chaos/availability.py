"""Is the port up, down or hung? Checked by connecting to it like any client."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from battletui.engine.chaos.handle import Endpoint
from battletui.engine.chaos.rpc import HOST, VERIFY_DEADLINE, ChaosError
from battletui.engine.probes import connect_refused, probe_health
from battletui.protocol.errors import describe_error


async def verify_refused(provider: Endpoint, what: str) -> str:
    deadline = time.monotonic() + VERIFY_DEADLINE
    while time.monotonic() < deadline:
        if await connect_refused(HOST, provider.port, timeout=0.5):
            return f"port {provider.port} refuses connections"
        await asyncio.sleep(0.02)
    raise ChaosError(f"{what} {provider.id}: port {provider.port} still accepts connections")


async def verify_answers(
    provider: Endpoint, http: aiohttp.ClientSession, what: str = "restore"
) -> str:
    spec = provider.spec
    timeout = VERIFY_DEADLINE + spec.latency + spec.jitter
    result = await probe_health(http, provider.url, timeout=timeout)
    if result.outcome != "ok":
        raise ChaosError(f"{what} {provider.id}: /health {result.outcome} {result.detail}".strip())
    return f"/health answered in {result.rtt * 1000:.0f}ms"


async def verify_hung(provider: Endpoint) -> str:
    """The port must accept, and a request on it must stay unanswered."""
    wait = 0.3 + provider.spec.latency + provider.spec.jitter
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, provider.port), VERIFY_DEADLINE
        )
    except (OSError, TimeoutError) as error:
        raise ChaosError(
            f"hang {provider.id}: port does not accept: {describe_error(error)}"
        ) from error
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        try:
            data = await asyncio.wait_for(reader.read(1), wait)
        except TimeoutError:
            return f"port accepts, /health unanswered after {wait * 1000:.0f}ms"
        raise ChaosError(f"hang {provider.id}: it still answers ({data!r})")
    finally:
        writer.transport.abort()
