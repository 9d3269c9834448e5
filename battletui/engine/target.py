"""The system under test as the engine sees it: where to send load and how to observe it.

One shape for both kinds, so the session has one code path: an external gateway comes with
its ``target:`` from the scenario; the reference gateway, once spawned, is described by the
same ``TargetSpec`` (its HTTP and WebSocket URLs, its ``/health`` and ``/events``, the
``X-Upstream`` header) and handed to the same observers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import aiohttp

from battletui.engine.errors import SessionStartError
from battletui.engine.gateway_process import GatewayProcess
from battletui.engine.lab_process import ProviderEndpoint
from battletui.observe import events_url
from battletui.scenario import DEFAULT_UPSTREAM_HEADER, ObserveSpec, TargetSpec

__all__ = [
    "LAB_JSON",
    "SystemUnderTest",
    "TargetKind",
    "external",
    "lab_json",
    "reference",
    "wait_listening",
    "wait_serving",
    "write_lab_json",
]

LAB_JSON: Final = "lab.json"
"""The session folder's file saying where the providers (and the gateway) listen."""
REACH_TIMEOUT: Final = 5.0
"""How long an external target may take to accept a connection when the session starts."""
SERVE_TIMEOUT: Final = 10.0
"""How long a gateway that accepts connections may take to answer JSON-RPC (its first
health checks of the lab's providers) before the session clock starts."""

TargetKind = Literal["reference", "external"]


@dataclass(frozen=True)
class SystemUnderTest:
    """The gateway the workload aims at, with everything it is observed by."""

    kind: TargetKind
    spec: TargetSpec

    @property
    def http(self) -> str:
        return self.spec.http

    @property
    def ws(self) -> str | None:
        return self.spec.ws

    @property
    def upstream_header(self) -> str | None:
        return self.spec.observe.upstream_header

    def to_json(self, observers: Sequence[str]) -> dict[str, Any]:
        """``result.json``'s ``target`` (and the journal's ``target`` entry)."""
        return {
            "kind": self.kind,
            "http": self.spec.http,
            "ws": self.spec.ws,
            "observers": list(observers),
            "upstream_header": self.spec.observe.upstream_header,
        }


def reference(gateway: GatewayProcess) -> SystemUnderTest:
    """The reference gateway, described as any external one would be."""
    admin = gateway.admin_url.rstrip("/")
    observe = ObserveSpec(
        upstream_header=DEFAULT_UPSTREAM_HEADER,
        health=f"{admin}/health",
        events=events_url(admin),
    )
    spec = TargetSpec(http=gateway.url, ws=gateway.ws_url, observe=observe)
    return SystemUnderTest("reference", spec)


def external(spec: TargetSpec) -> SystemUnderTest:
    return SystemUnderTest("external", spec)


def lab_json(
    providers: Sequence[ProviderEndpoint],
    gateway: GatewayProcess | None,
    target: SystemUnderTest,
    observers: Sequence[str],
) -> dict[str, Any]:
    """What an external gateway's configuration needs: every provider's addresses."""
    return {
        "providers": [
            {"id": p.id, "http": p.url, "ws": p.ws_url, "port": p.port} for p in providers
        ],
        "gateway": None if gateway is None else {"http": gateway.url, "ws": gateway.ws_url},
        "target": target.to_json(observers),
    }


def write_lab_json(folder: Path, content: Mapping[str, Any]) -> None:
    """Written whole or not at all, like the session's other files."""
    partial = folder / f".{LAB_JSON}.partial"
    partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    partial.replace(folder / LAB_JSON)


async def wait_listening(url: str, timeout: float = REACH_TIMEOUT) -> None:
    """Until something accepts TCP connections at ``url``'s host and port; SessionStartError (one
    line) when nothing does within ``timeout``, so a session never measures a missing
    gateway as an outage."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if secure else 80)
    last = "no answer"
    try:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    _, writer = await asyncio.open_connection(host, port)
                except OSError as error:
                    last = error.strerror or str(error)
                    await asyncio.sleep(0.1)
                    continue
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
    except TimeoutError:
        raise SessionStartError(
            f"the target {url} does not accept connections ({last}) within {timeout:g}s: "
            "is the gateway running?"
        ) from None


async def wait_serving(url: str, chain_id: int, timeout: float = SERVE_TIMEOUT) -> float:
    """Until the gateway at ``url`` answers ``eth_chainId`` with the lab's chain id, so its
    start-up (a proxy that has not yet seen its upstreams pass a health check answers 503)
    is not judged as an outage. Returns the seconds waited; SessionStartError (one line) when it
    never does, with its last answer."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    want = hex(chain_id)
    last = "no answer"
    started = time.monotonic()
    attempt = aiohttp.ClientTimeout(total=1.0)
    async with aiohttp.ClientSession(timeout=attempt) as http:
        while time.monotonic() - started < timeout:
            try:
                async with http.post(url, json=body) as response:
                    text = await response.text()
                    if response.status == 200:
                        answer = json.loads(text)
                        if isinstance(answer, dict) and answer.get("result") == want:
                            return time.monotonic() - started
                    last = f"HTTP {response.status}: {' '.join(text.split())[:80]}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                last = str(error) or type(error).__name__
            await asyncio.sleep(0.1)
    raise SessionStartError(
        f"the target {url} accepts connections but did not answer eth_chainId with {want} "
        f"within {timeout:g}s (last: {last}): are its upstreams the lab's providers "
        "(lab.json)?"
    )
