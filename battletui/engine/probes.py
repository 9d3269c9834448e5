"""Socket-level checks of a provider, used to verify chaos and to show who is up.

These never look inside the provider object: they connect to its port like any client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Literal

import aiohttp

from battletui.protocol.errors import describe_error

ProbeOutcome = Literal["refused", "ok", "error", "timeout"]


@dataclass(frozen=True)
class ProbeResult:
    outcome: ProbeOutcome
    rtt: float
    """Seconds from connect to the full answer (or to the failure)."""
    detail: str = ""


async def connect_refused(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """True when a TCP connect to ``host:port`` is refused (nothing listens there)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except ConnectionRefusedError:
        return True
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return False


async def probe_health(
    session: aiohttp.ClientSession, url: str, *, timeout: float = 2.0
) -> ProbeResult:
    """GET ``url``/health on a fresh connection and time the whole answer."""
    start = time.monotonic()
    try:
        async with session.get(
            url.rstrip("/") + "/health",
            timeout=aiohttp.ClientTimeout(total=timeout),
            headers={"Connection": "close"},
        ) as response:
            await response.read()
            rtt = time.monotonic() - start
            if response.status == 200:
                return ProbeResult("ok", rtt)
            return ProbeResult("error", rtt, f"HTTP {response.status}")
    except aiohttp.ClientConnectorError as error:
        rtt = time.monotonic() - start
        if isinstance(error.os_error, ConnectionRefusedError):
            return ProbeResult("refused", rtt, "connection refused")
        return ProbeResult("error", rtt, describe_error(error))
    except TimeoutError:
        return ProbeResult("timeout", time.monotonic() - start, f"no answer in {timeout:g}s")
    except (aiohttp.ClientError, OSError) as error:
        return ProbeResult("error", time.monotonic() - start, describe_error(error))
