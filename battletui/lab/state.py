"""The lab's state as JSON: the chain's head and, per provider, its faults and what it
received. Read a few times a second by the engine (``GET /state``), so it stays cheap."""

from __future__ import annotations

from collections.abc import Iterable

from battletui.chain import MockChain
from battletui.providers import MockProvider


def received_json(provider: MockProvider) -> dict[str, object]:
    """``{"requests", "http", "ws", "methods"}``: cumulative since the provider started."""
    methods = provider.received
    transports = provider.received_by_transport
    return {
        "requests": sum(methods.values()),
        "http": transports["http"],
        "ws": transports["ws"],
        "methods": dict(sorted(methods.items())),
    }


def endpoint_json(provider: MockProvider) -> dict[str, object]:
    """Where a provider listens: what the engine and a gateway need to reach it."""
    return {
        "id": provider.id,
        "url": provider.url,
        "ws_url": provider.ws_url,
        "port": provider.port,
    }


def provider_json(provider: MockProvider) -> dict[str, object]:
    return {
        **endpoint_json(provider),
        "head": provider.head,
        "faults": provider.faults.to_json(),
        "received": received_json(provider),
        "ws_connections": provider.ws_connections,
        "subscriptions": provider.subscriptions,
    }


def chain_json(chain: MockChain) -> dict[str, object]:
    head = chain.head_number()
    return {
        "id": chain.chain_id,
        "head": head,
        "block_time": chain.block_time,
        "next_block_in": round(chain.seconds_until(head + 1), 6),
        "reorgs": chain.reorg_count,
    }


def lab_json(chain: MockChain, providers: Iterable[MockProvider]) -> dict[str, object]:
    """``GET /state``: the chain, then every provider in scenario order."""
    return {"chain": chain_json(chain), "providers": [provider_json(p) for p in providers]}
