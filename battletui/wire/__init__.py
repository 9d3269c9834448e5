"""A lean HTTP/1.1 client for JSON-RPC over loopback: keep-alive connections in a bounded
pool, requests written as pre-encoded bytes, answers parsed by httptools (the parser uvicorn
uses) on asyncio protocols.

Why not aiohttp's client here: the load generator and the reference gateway send tens of
thousands of small POSTs a second, and aiohttp's general machinery (``ClientSession._request``
and friends) cost them 150-300 µs of CPU per request; this costs about a fifth of that. It
speaks exactly what JSON-RPC over HTTP needs: POST with a body, a status, headers and a body
back (Content-Length or chunked), keep-alive, ``Connection: close``. It knows nothing else of
battletui, so the workload and the gateway can share it without meeting each other.

The server side (``FastPostServer``) answers ``POST /`` the same lean way and hands every
other request on the same port (WebSocket upgrades, ``/health``) to aiohttp.
"""

from battletui.wire._errors import (
    BadResponse,
    ConnectFailed,
    Disconnected,
    PoolFull,
    WireError,
)
from battletui.wire._json import loads
from battletui.wire._pool import HttpPool, WireResponse
from battletui.wire._server import FastPost, FastPostServer, PostHandler, PostReply

__all__ = [
    "BadResponse",
    "ConnectFailed",
    "Disconnected",
    "FastPost",
    "FastPostServer",
    "HttpPool",
    "PoolFull",
    "PostHandler",
    "PostReply",
    "WireError",
    "WireResponse",
    "loads",
]
