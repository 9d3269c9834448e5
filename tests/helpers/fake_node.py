"""A fake Ethereum node for gateway tests: a chain that grows, a node serving it over
HTTP and WebSocket ``newHeads``, and a listener that keeps every head a client received."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from typing import Any

import aiohttp
import websockets
from aiohttp import web
from websockets.asyncio.client import ClientConnection as WsClient

from battletui.gateway import Upstream

BLOCK_INTERVAL = 0.06
"""Seconds between blocks of the fake chain."""


# -- the chain and the fake upstreams ----------------------------------------------------------


def _hash(text: str) -> str:
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


class Chain:
    """Blocks 1000, 1001, ... with geth-shaped headers; hashes derived from the number."""

    def __init__(self, first: int = 1000) -> None:
        self.first = first
        self.head = first

    def header(self, number: int) -> dict[str, Any]:
        return {
            "parentHash": _hash(f"block-{number - 1}"),
            "sha3Uncles": _hash("uncles"),
            "miner": "0x" + "00" * 20,
            "stateRoot": _hash(f"state-{number}"),
            "transactionsRoot": _hash("txs"),
            "receiptsRoot": _hash("receipts"),
            "logsBloom": "0x" + "00" * 256,
            "difficulty": "0x0",
            "number": hex(number),
            "gasLimit": "0x1c9c380",
            "gasUsed": "0x0",
            "timestamp": hex(1_700_000_000 + number),
            "extraData": "0x",
            "mixHash": _hash(f"mix-{number}"),
            "nonce": "0x0000000000000000",
            "baseFeePerGas": "0x7",
            "hash": _hash(f"block-{number}"),
        }

    def block(self, number: int) -> dict[str, Any] | None:
        if not self.first <= number <= self.head:
            return None
        extra = {
            "transactions": [],
            "uncles": [],
            "size": "0x220",
            "totalDifficulty": "0x0",
            "withdrawals": [],
        }
        return {**self.header(number), **extra}


class FakeNode:
    """One fake provider: HTTP JSON-RPC and ``newHeads`` over WebSocket on one port."""

    def __init__(self, name: str, chain: Chain) -> None:
        self.name = name
        self.chain = chain
        self.port = 0
        self.silent = False
        """Keep sockets open but send no heads (a stalled upstream)."""
        self.http_status = 200
        self.http_delay = 0.0
        self.behind = 0
        """Blocks its ``eth_blockNumber`` answer lags behind the chain."""
        self.drop_on_subscribe = False
        """Accept each subscription, then close the socket with 1001 at once."""
        self.subscribes = 0
        self.first_sent: list[int] = []
        """Per subscription, the first head number it was sent."""
        self._subs: dict[web.WebSocketResponse, tuple[str, int]] = {}
        self._transports: set[asyncio.Transport] = set()
        self._runner: web.AppRunner | None = None

    @property
    def upstream(self) -> Upstream:
        return Upstream(self.name, f"http://127.0.0.1:{self.port}/")

    @property
    def up(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._rpc)
        app.router.add_get("/", self._ws)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def kill(self) -> None:
        """The port refuses connections and every open socket is reset."""
        for transport in list(self._transports):
            transport.abort()
        self._subs.clear()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def restore(self) -> None:
        await self.start()  # same port

    async def drop_ws(self, code: int = 1001) -> int:
        """Close every subscriber socket cleanly with ``code``; HTTP keeps working."""
        sockets = list(self._subs)
        self._subs.clear()
        for ws in sockets:
            await ws.close(code=code, message=b"ws-drop")
        return len(sockets)

    async def announce(self, number: int) -> None:
        if self.silent or not self.up:
            return
        header = self.chain.header(number)
        for ws, (sub_id, index) in list(self._subs.items()):
            if len(self.first_sent) == index:
                self.first_sent.append(number)
            note = {
                "jsonrpc": "2.0",
                "method": "eth_subscription",
                "params": {"subscription": sub_id, "result": header},
            }
            try:
                await ws.send_str(json.dumps(note))
            except (ConnectionError, RuntimeError):
                self._subs.pop(ws, None)

    def _answer(self, item: Any) -> dict[str, Any]:
        request_id = item.get("id") if isinstance(item, dict) else None
        method = item.get("method") if isinstance(item, dict) else None
        params = item.get("params") or [] if isinstance(item, dict) else []
        result: Any
        if method == "eth_blockNumber":
            result = hex(self.chain.head - self.behind)
        elif method == "eth_chainId":
            result = "0x1"
        elif method == "eth_getBlockByNumber":
            tag = params[0]
            result = self.chain.block(self.chain.head if tag == "latest" else int(tag, 16))
        else:
            error = {"code": -32601, "message": f"the method {method} does not exist"}
            return {"jsonrpc": "2.0", "id": request_id, "error": error}
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            self._transports.add(request.transport)
        if self.http_delay:
            await asyncio.sleep(self.http_delay)
        if self.http_status != 200:
            return web.Response(status=self.http_status, text="unavailable")
        parsed = json.loads(await request.read())
        if isinstance(parsed, list):
            return web.json_response([self._answer(item) for item in parsed])
        return web.json_response(self._answer(parsed))

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        transport = request.transport
        if transport is not None:
            self._transports.add(transport)
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                item = json.loads(message.data)
                if item.get("method") == "eth_subscribe":
                    self.subscribes += 1
                    sub_id = f"0x{self.name.encode().hex()}{self.subscribes:04x}"
                    await ws.send_json({"jsonrpc": "2.0", "id": item["id"], "result": sub_id})
                    if self.drop_on_subscribe:
                        await ws.close(code=1001, message=b"going away")
                        break
                    self._subs[ws] = (sub_id, self.subscribes - 1)
                else:
                    await ws.send_json(self._answer(item))
        finally:
            self._subs.pop(ws, None)
            if transport is not None:
                self._transports.discard(transport)
        return ws


# -- a checking client -------------------------------------------------------------------------


_OWN_ID: Any = object()


class Listener:
    """A client socket through the gateway, subscribed to ``newHeads``, keeping every head."""

    def __init__(self, ws: WsClient) -> None:
        self.ws = ws
        self.sub_id = ""
        self.heads: list[tuple[str, dict[str, Any]]] = []
        self._replies: dict[Any, asyncio.Future[Any]] = {}
        self._reader = asyncio.create_task(self._read())

    @property
    def numbers(self) -> list[int]:
        return [int(header["number"], 16) for _, header in self.heads]

    @property
    def last(self) -> int:
        return self.numbers[-1] if self.heads else 0

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                message = json.loads(raw)
                if isinstance(message, dict) and message.get("method") == "eth_subscription":
                    params = message["params"]
                    self.heads.append((params["subscription"], params["result"]))
                    continue
                key = (
                    tuple(item.get("id") for item in message)
                    if isinstance(message, list)
                    else message.get("id")
                )
                future = self._replies.pop(key, None)
                if future is not None and not future.done():
                    future.set_result(message)

    async def call(self, payload: Any, key: Any = _OWN_ID) -> Any:
        """Send ``payload`` and wait for the reply whose id (tuple of ids for a batch) is
        ``key`` (default: the payload's id)."""
        if key is _OWN_ID:
            key = payload.get("id")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[key] = future
        await self.ws.send(payload if isinstance(payload, str) else json.dumps(payload))
        return await asyncio.wait_for(future, timeout=3.0)

    async def subscribe(self) -> str:
        reply = await self.call(rpc(1, "eth_subscribe", ["newHeads"]))
        self.sub_id = reply["result"]
        return self.sub_id

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


def rpc(request_id: Any, method: str, params: list[Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}
