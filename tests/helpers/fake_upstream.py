"""A fake JSON-RPC upstream for gateway tests: a tiny aiohttp endpoint on 127.0.0.1.

It is not ``battletui.providers`` on purpose: the gateway must work against anything that
speaks JSON-RPC over HTTP, so its tests never lean on our own mock providers. Every
behaviour is an attribute that may change while the fake runs.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from aiohttp import web

from battletui.gateway import Upstream

HEALTH_PREFIX = "health-"
"""The gateway's own health probes carry ids starting with this; they are not traffic."""


class Behaviour(TypedDict, total=False):
    """What a ``FakeUpstream`` may be built with (each field is also an attribute)."""

    delay: float
    delays: Mapping[str, float]
    status: int
    rpc_error: int | None
    retry_after: str | None
    head: int
    hang: bool
    raw: bytes | None
    pattern: Sequence[str | int]


class FakeUpstream:
    """A JSON-RPC endpoint whose misbehaviour can change while it runs.

    ``head``: what every method answers (hex); ``status``: HTTP status to answer with (with
    ``retry_after`` set: a ``Retry-After`` header, and a 429 carries a JSON-RPC error body);
    ``rpc_error``: a JSON-RPC error code inside HTTP 200; ``delay``: seconds before answering,
    ``delays[method]`` instead for that method, ``slow_once`` more for the next client
    request only; ``hang``: accept and never answer; ``raw``: answer HTTP 200 with these bytes;
    ``pattern``: per client request, in turn, ``"ok"`` or an HTTP status (cycled).

    ``hits`` counts client requests, ``method_hits`` them per method (``"batch"`` for a
    batch), ``probes`` the gateway's health probes; ``last_body`` is the last client request.
    """

    def __init__(
        self,
        name: str,
        *,
        delay: float = 0.0,
        delays: Mapping[str, float] | None = None,
        status: int = 200,
        rpc_error: int | None = None,
        retry_after: str | None = None,
        head: int = 0x10,
        hang: bool = False,
        raw: bytes | None = None,
        pattern: Sequence[str | int] = (),
    ) -> None:
        self.name = name
        self.delay = delay
        self.delays = dict(delays or {})
        self.slow_once = 0.0
        self.status = status
        self.rpc_error = rpc_error
        self.retry_after = retry_after
        self.head = head
        self.hang = hang
        self.raw = raw
        self.pattern: list[str | int] = list(pattern)
        self.hits = 0
        self.method_hits: collections.Counter[str] = collections.Counter()
        self.probes = 0
        self.last_body = b""
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def upstream(self) -> Upstream:
        return Upstream(self.name, self.url)

    async def start(self) -> None:
        """Listen (again on the same port after ``stop``, once it had one)."""
        app = web.Application()
        app.router.add_post("/", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening: the port refuses connections and idle keep-alives are closed."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        parsed = json.loads(body)
        method = str(parsed.get("method", "")) if isinstance(parsed, dict) else "batch"
        status, extra = self._count(parsed, method, body)
        if self.hang:
            await asyncio.Event().wait()
        delay = self.delays.get(method, self.delay) + extra
        if delay:
            await asyncio.sleep(delay)
        if status != 200:
            return self._refusal(status)
        if self.raw is not None:
            return web.Response(body=self.raw, content_type="text/html")
        if isinstance(parsed, list):
            return web.json_response([self._answer(item) for item in parsed])
        return web.json_response(self._answer(parsed))

    def _count(self, parsed: Any, method: str, body: bytes) -> tuple[int, float]:
        """Count the request; its HTTP status (``pattern`` decides for client traffic) and
        the one-off extra delay it takes (``slow_once``, client traffic only)."""
        if isinstance(parsed, dict) and str(parsed.get("id", "")).startswith(HEALTH_PREFIX):
            self.probes += 1
            return self.status, 0.0
        status = self.status
        if self.pattern:
            step = self.pattern[self.hits % len(self.pattern)]
            status = 200 if step == "ok" else int(step)
        self.hits += 1
        self.method_hits[method] += 1
        self.last_body = body
        extra, self.slow_once = self.slow_once, 0.0
        return status, extra

    def _refusal(self, status: int) -> web.Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
        if status == 429 and headers is not None:
            error = {"code": -32005, "message": "limit"}
            body = {"jsonrpc": "2.0", "id": None, "error": error}
            return web.json_response(body, status=429, headers=headers)
        return web.Response(status=status, text="unavailable", headers=headers)

    def _answer(self, item: Any) -> dict[str, Any]:
        request_id = item.get("id") if isinstance(item, dict) else None
        if self.rpc_error is not None:
            error = {"code": self.rpc_error, "message": f"fake error {self.rpc_error}"}
            return {"jsonrpc": "2.0", "id": request_id, "error": error}
        return {"jsonrpc": "2.0", "id": request_id, "result": hex(self.head)}
