"""Mock JSON-RPC providers: one real aiohttp server each, following one mock chain.

JSON-RPC over HTTP (``POST /``) and over WebSocket (``GET /`` upgraded, with ``newHeads``
subscriptions) on one port. Faults (kill, restore, flap, degrade, ws-drop) act on real
sockets so that the gateway sees what it would see in production. Never imports the
gateway, the workload, the engine or the UI.
"""

from battletui.providers.faults import FaultState
from battletui.providers.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
)
from battletui.providers.methods import CLIENT_VERSION, EthApi
from battletui.providers.provider import MockProvider

__all__ = [
    "CLIENT_VERSION",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "EthApi",
    "FaultState",
    "MockProvider",
    "RpcError",
]
