"""``GatewayProcess``: the reference gateway in a child process of the engine.

The system under test serves from its own process and event loop, as a production gateway
would, so its work never stalls the loop that timestamps requests, and the engine can only
know it through its sockets (JSON-RPC, and the admin endpoints read by
:class:`~battletui.observe.GatewayObserver`). It dies with the engine however
the engine ends (see :mod:`battletui.processes`); ``stop()`` ends it in order, so its port is
closed before the session's outputs are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from battletui.engine.spawn import spawn_part
from battletui.processes import READY_TIMEOUT, ChildProcess
from battletui.scenario import Scenario, dumps_scenario

__all__ = ["MODULE", "GatewayProcess"]

MODULE = "battletui.gateway"


class GatewayProcess:
    """A running gateway: where clients and observers reach it, its pid, and ``stop()``."""

    def __init__(self, child: ChildProcess, url: str, ws_url: str, admin_url: str) -> None:
        self.child = child
        self.url = url
        """JSON-RPC over HTTP (``POST``)."""
        self.ws_url = ws_url
        """JSON-RPC and subscriptions over WebSocket."""
        self.admin_url = admin_url
        """Base of ``/health``, ``/events`` and ``/admin/strategy``."""

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def running(self) -> bool:
        return self.child.running

    @classmethod
    async def start(
        cls,
        scenario: Scenario,
        upstreams: Sequence[tuple[str, str]],
        *,
        port: int | None = None,
        log: Path | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> GatewayProcess:
        """Spawn the gateway in front of ``upstreams`` (``(id, url)`` pairs, in priority
        order), configured by ``scenario.gateway`` and ``scenario.seed``, on ``port`` (None:
        any free port); wait until it listens. ``SessionStartError`` (one line, the gateway's own
        reason) when it cannot: a port already taken, a configuration it refuses."""
        config = {
            "scenario": dumps_scenario(scenario, "yaml"),
            "upstreams": [{"id": uid, "url": url} for uid, url in upstreams],
            "port": port,
        }
        child, (url, ws_url, admin_url) = await spawn_part(
            "gateway", MODULE, config, _endpoints, log=log, ready_timeout=ready_timeout
        )
        return cls(child, url, ws_url, admin_url)

    async def stop(self) -> int:
        """End the gateway (its port is closed when this returns); its exit code. Idempotent."""
        return await self.child.stop()


def _endpoints(ready: Any) -> tuple[str, str, str]:
    url, ws_url, admin = ready["url"], ready["ws_url"], ready["admin"]
    for name, value in (("url", url), ("ws_url", ws_url), ("admin", admin)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} is {value!r}")
    return url, ws_url, admin.rstrip("/")
