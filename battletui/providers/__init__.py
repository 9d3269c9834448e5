"""Mock JSON-RPC providers: one real aiohttp server each, following one mock chain.

JSON-RPC over HTTP (``POST /``) and over WebSocket (``GET /`` upgraded, with ``newHeads``
subscriptions) on one port. Faults (kill, restore, flap, degrade, ws-drop) act on real
sockets so that the gateway sees what it would see in production. Never imports the
gateway, the workload, the engine or the UI; what it shares with them (JSON-RPC codes, the
fault state the lab reports) is in :mod:`battletui.protocol`.
"""

from battletui.providers.jsonrpc import RpcError
from battletui.providers.methods import CLIENT_VERSION, EthApi
from battletui.providers.provider import MockProvider

__all__ = [
    "CLIENT_VERSION",
    "EthApi",
    "MockProvider",
    "RpcError",
]
