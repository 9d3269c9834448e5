"""What chaos needs of a lab: where each provider listens, and a client of its control
endpoint. ``LabProcess`` is one; so is the in-process ``Lab`` while it lasts (its
``MockProvider`` objects have the same endpoint fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from battletui.engine.chaos.rpc import ChaosError
from battletui.engine.lab_client import Applied, LabClient, LabRequestError
from battletui.scenario import Action, ProviderSpec, Scenario


class Endpoint(Protocol):
    """A provider as chaos sees it from outside: its spec and its sockets."""

    @property
    def id(self) -> str: ...

    @property
    def spec(self) -> ProviderSpec: ...

    @property
    def url(self) -> str: ...

    @property
    def ws_url(self) -> str: ...

    @property
    def port(self) -> int: ...


class LabHandle(Protocol):
    @property
    def scenario(self) -> Scenario: ...

    @property
    def providers(self) -> Mapping[str, Endpoint]: ...

    @property
    def client(self) -> LabClient: ...


async def applied(lab: LabHandle, action: Action) -> Applied:
    """Ask the lab to apply ``action``; its refusal becomes a ``ChaosError`` (one line)."""
    try:
        return await lab.client.apply(action)
    except LabRequestError as error:
        raise ChaosError(f"{action.kind} {action.target}: {error}") from error
