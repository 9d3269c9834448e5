"""``LabProcess``: the lab (mock chain and providers) in a child process of the engine.

Keeps the providers' event loop off the engine's measuring loop. The lab dies with the
engine however the engine ends (see ``battletui.processes``); ``stop()`` ends it in order,
so its ports are released before the session's outputs are written.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from battletui.engine.lab_client import LabClient
from battletui.engine.spawn import spawn_part
from battletui.processes import READY_TIMEOUT, ChildProcess
from battletui.scenario import ProviderSpec, Scenario, dumps_scenario

MODULE = "battletui.lab"


@dataclass(frozen=True)
class ProviderEndpoint:
    """Where one mock provider listens, and the spec it was started from."""

    id: str
    spec: ProviderSpec
    url: str
    ws_url: str
    port: int


class LabProcess:
    """A running lab: its providers' endpoints, a client of its control endpoint, its pid."""

    def __init__(
        self,
        scenario: Scenario,
        child: ChildProcess,
        client: LabClient,
        providers: dict[str, ProviderEndpoint],
        token: str = "",
    ) -> None:
        self.scenario = scenario
        self.child = child
        self.client = client
        self.providers = providers
        self.token = token
        """The lab's bearer token: the engine hands it to its load workers for ``/truth``."""

    @property
    def truth_url(self) -> str:
        """The lab's truth feed (``battletui.lab.truth``), for a replica of the chain."""
        return self.client.url.replace("http://", "ws://", 1) + "/truth"

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def running(self) -> bool:
        return self.child.running

    @property
    def control_url(self) -> str:
        return self.client.url

    def provider(self, provider_id: str) -> ProviderEndpoint:
        return self.providers[provider_id]

    @classmethod
    async def start(
        cls,
        scenario: Scenario,
        *,
        base_port: int | None = None,
        log: Path | None = None,
        ready_timeout: float = READY_TIMEOUT,
    ) -> LabProcess:
        """Spawn the lab and wait until every provider listens; ``SessionStartError`` (one line,
        the lab's own reason) when it cannot."""
        token = secrets.token_urlsafe(32)
        config = {
            "scenario": dumps_scenario(scenario, "yaml"),
            "base_port": base_port,
            "token": token,
        }
        child, providers = await spawn_part(
            "lab",
            MODULE,
            config,
            lambda ready: _endpoints(scenario, ready),
            log=log,
            ready_timeout=ready_timeout,
        )
        client = LabClient(str(child.ready["control"]), token)
        return cls(scenario, child, client, providers, token)

    async def stop(self) -> int:
        """Close the client and end the lab (its ports are closed when this returns);
        the lab's exit code. Idempotent."""
        await self.client.aclose()
        return await self.child.stop()


def _endpoints(scenario: Scenario, ready: Any) -> dict[str, ProviderEndpoint]:
    listed = {str(p["id"]): p for p in ready["providers"]}
    endpoints: dict[str, ProviderEndpoint] = {}
    for spec in scenario.providers:
        entry = listed[spec.id]
        endpoints[spec.id] = ProviderEndpoint(
            id=spec.id,
            spec=spec,
            url=str(entry["url"]),
            ws_url=str(entry["ws_url"]),
            port=int(entry["port"]),
        )
    return endpoints
