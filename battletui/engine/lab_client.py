"""``LabClient``: the engine's side of the lab's fault-control endpoint (see
``battletui.lab.control``), on httpx: these calls are not the measured hot path.

The answers are parsed into plain frozen values (``LabState``, ``ProviderState``,
``Received``, ``Applied``) so nothing past this module handles raw JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import httpx

from battletui.protocol.faults import FaultState
from battletui.scenario import Action

TIMEOUT: Final = 10.0
"""Seconds for one call; a fault returns once it is in effect (a ws-drop waits for close
handshakes, a restore for reset sockets), well within this."""


class LabRequestError(RuntimeError):
    """The lab refused or could not be asked: one line (the lab's own reason when it gave one).

    ``status`` is the HTTP status (409: a precondition, 400: bad params, 404: unknown), or
    None when the lab could not be reached.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _no_methods() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Received:
    """What one provider received so far (cumulative): JSON-RPC requests, per method."""

    requests: int = 0
    methods: Mapping[str, int] = field(default_factory=_no_methods, hash=False)
    http: int = 0
    ws: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Received:
        methods = {str(k): int(v) for k, v in (data.get("methods") or {}).items()}
        return cls(
            requests=int(data.get("requests", sum(methods.values()))),
            methods=MappingProxyType(methods),
            http=int(data.get("http", 0)),
            ws=int(data.get("ws", 0)),
        )

    def to_json(self) -> dict[str, object]:
        """The journal's shape: ``{"requests": n, "methods": {...}}``."""
        return {"requests": self.requests, "methods": dict(self.methods)}


@dataclass(frozen=True)
class ProviderState:
    id: str
    url: str
    ws_url: str
    port: int
    head: int
    faults: FaultState
    received: Received
    ws_connections: int = 0
    subscriptions: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderState:
        return cls(
            id=str(data["id"]),
            url=str(data["url"]),
            ws_url=str(data["ws_url"]),
            port=int(data["port"]),
            head=int(data.get("head", 0)),
            faults=FaultState.from_json(data.get("faults") or {}),
            received=Received.from_json(data.get("received") or {}),
            ws_connections=int(data.get("ws_connections", 0)),
            subscriptions=int(data.get("subscriptions", 0)),
        )


@dataclass(frozen=True)
class LabState:
    """``GET /state``: the chain's head and every provider, in scenario order."""

    head: int
    block_time: float
    reorgs: int
    providers: Mapping[str, ProviderState]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabState:
        chain = data.get("chain") or {}
        providers = [ProviderState.from_json(p) for p in data.get("providers") or []]
        return cls(
            head=int(chain.get("head", 0)),
            block_time=float(chain.get("block_time", 1.0)),
            reorgs=int(chain.get("reorgs", 0)),
            providers=MappingProxyType({p.id: p for p in providers}),
        )

    def received(self) -> dict[str, Received]:
        return {pid: p.received for pid, p in self.providers.items()}


@dataclass(frozen=True)
class Applied:
    """A fault the lab applied: the provider's faults now, and what it did (kind-specific:
    ``port``; flap ``down``/``up``/``cycles``; degrade the absolute ``latency``/``jitter``/
    ``method``; errors ``rate``/``kind``/``code``/``retry_after``; lag ``head``,
    ``chain_head``, ``next_block_in``; ws-drop ``closed``)."""

    faults: FaultState
    detail: Mapping[str, Any]


class LabClient:
    """Calls the lab's control endpoint at ``url`` with its bearer ``token``."""

    def __init__(self, url: str, token: str, *, timeout: float = TIMEOUT) -> None:
        self.url = url
        self._http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            trust_env=False,  # 127.0.0.1 only: never through a proxy from the environment
        )

    async def state(self) -> LabState:
        return LabState.from_json(await self._call("GET", "/state"))

    async def head(self) -> int:
        """The canonical chain's head number, as the lab has it now."""
        return int((await self._call("GET", "/chain"))["head"])

    async def apply(self, action: Action) -> Applied:
        """Apply a provider fault (``action.target`` names the provider)."""
        if action.target is None:
            raise LabRequestError(f"{action.kind} needs a provider")
        answer = await self._call(
            "POST", f"/providers/{action.target}/{action.kind}", dict(action.params)
        )
        return Applied(FaultState.from_json(answer.get("faults") or {}), answer.get("detail") or {})

    async def reorg(self, depth: int) -> list[tuple[int, str, str]]:
        """Replace the chain's last ``depth`` blocks: ``(number, old hash, new hash)`` each."""
        answer = await self._call("POST", "/chain/reorg", {"depth": depth})
        return [(int(n), str(old), str(new)) for n, old, new in answer.get("replaced") or []]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.HTTPError as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise LabRequestError(f"the lab did not answer: {reason}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict):
            said = answer.get("error") if isinstance(answer, dict) else None
            raise LabRequestError(
                str(said or f"the lab answered HTTP {response.status_code}"),
                response.status_code,
            )
        return answer
