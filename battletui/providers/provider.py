"""One mock provider: a real HTTP + WebSocket server on 127.0.0.1 whose faults are real
socket events (or real silences)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from aiohttp import WSCloseCode, web

from battletui.chain import MockChain
from battletui.protocol.faults import FaultState
from battletui.providers.gate import Gate
from battletui.providers.head_feed import HeadFeed
from battletui.providers.http_app import RpcHttpApp
from battletui.providers.injected import ErrorFault, check_code, fault_code
from battletui.providers.listener import Listener
from battletui.providers.methods import EthApi
from battletui.providers.received import ReceivedCounter
from battletui.providers.resets import ResetProtocol, reset_transport, socket_closed
from battletui.providers.view import ChainView
from battletui.providers.ws_app import QUEUE_LIMIT, RpcWsEndpoint
from battletui.scenario import ERROR_KINDS, ProviderSpec

RESET_TIMEOUT: Final = 1.0
"""Upper bound for aborted sockets to close; they close on the next loop iteration."""

SHUTDOWN_TIMEOUT: Final = 1.0
IDLE_TIMEOUT: Final = 30.0
"""Seconds a connection may sit without a whole request (idle between requests, or a client
sending its headers a byte at a time): aiohttp's keep-alive timer, which runs from the
connection's start, closes it then."""
"""aiohttp's graceful shutdown wait on ``stop()``; connections are already reset by then."""


class MockProvider:
    """A JSON-RPC provider serving ``chain`` on ``host:port``, with the fault palette: kill,
    restore, flap, degrade (global or per method), errors, hang, lag and ws-drop; it follows
    the chain's reorgs.

    HTTP JSON-RPC is ``POST /``; a ``GET /`` with ``Upgrade: websocket`` on the same port is
    JSON-RPC over WebSocket, with ``eth_subscribe`` ``newHeads`` (see ``ws_app``).

    Every fault method returns once the fault is in effect locally: after ``kill()`` the
    port refuses connections and every open connection, WebSockets included, has been reset
    (RST). ``restore()`` clears every fault at once. Faults are independent: a provider can
    be degraded, erroring and lagging together; ``kill``/``flap`` only govern listening (a
    hung or lagging provider that is killed is still hung or lagging after a flap's up
    phase, until ``restore``). ``ws_queue_limit`` bounds each WebSocket's send queue (a
    subscriber that stops reading is closed with 1008 beyond it).
    """

    def __init__(
        self,
        spec: ProviderSpec,
        chain: MockChain,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_queue_limit: int = QUEUE_LIMIT,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self._idle_timeout = idle_timeout
        self._spec = spec
        self._chain = chain
        self._gate = Gate(spec, seed)
        self._view = ChainView(chain)
        api = EthApi(self._view, spec.id, seed)
        self._filters = api.filters
        self._received = ReceivedCounter()
        self._http = RpcHttpApp(
            spec.id, self._view, self._gate, api, lambda: self.faults, self._received
        )
        self._feed = HeadFeed(chain, seed, spec.id, self._view)
        self._ws = RpcWsEndpoint(api, self._gate, self._feed, ws_queue_limit, self._received)
        self._http.app.router.add_get("/", self._ws.handle)
        self._listener = Listener(self._make_protocol, host, port)
        self._host = host
        self._runner: web.AppRunner | None = None
        self._lock = asyncio.Lock()
        self._flap_task: asyncio.Task[None] | None = None

    # -- read-only state ---------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._spec.id

    @property
    def spec(self) -> ProviderSpec:
        return self._spec

    @property
    def port(self) -> int:
        """The bound port (stable across kill/restore), or the requested one before start."""
        return self._listener.port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """JSON-RPC over WebSocket, on the same port as ``url``."""
        return f"ws://{self._host}:{self.port}"

    @property
    def ws_connections(self) -> int:
        """Open WebSocket connections."""
        return self._ws.connections

    @property
    def subscriptions(self) -> int:
        """Active ``eth_subscribe`` subscriptions over all WebSocket connections."""
        return self._feed.count

    @property
    def served(self) -> int:
        """HTTP requests answered so far (JSON-RPC and health)."""
        return self._http.served

    @property
    def received(self) -> Mapping[str, int]:
        """JSON-RPC requests received so far per method, HTTP and WebSocket together (a
        batch counts each member). Counted on arrival, before any fault: a request answered
        with an injected error or held by a hang was received; one refused while killed was
        not. ``(invalid)`` counts bodies that named no method."""
        return self._received.methods()

    @property
    def received_by_transport(self) -> Mapping[str, int]:
        """The same requests, totalled per transport: ``{"http": n, "ws": n}``."""
        return self._received.by_transport()

    @property
    def in_flight(self) -> int:
        """HTTP requests received and not yet answered (waiting out their latency)."""
        return self._http.in_flight

    @property
    def head(self) -> int:
        """The provider's head: the chain's, or the frozen one while lagging."""
        return self._view.head_number()

    @property
    def faults(self) -> FaultState:
        gate = self._gate
        errors = gate.error_fault
        return FaultState(
            killed=self._runner is not None and gate.down,
            flapping=self._flap_task is not None,
            added_latency=gate.added_latency,
            added_jitter=gate.added_jitter,
            method_latency=MappingProxyType(dict(gate.method_latency)),
            method_jitter=MappingProxyType(dict(gate.method_jitter)),
            error_rate=errors.rate if errors is not None else 0.0,
            error_kind=errors.kind if errors is not None else None,
            error_code=errors.code if errors is not None else None,
            retry_after=errors.retry_after if errors is not None else None,
            hung=gate.hung,
            lagging=self._view.lagging,
            lag_head=self._view.lag_head,
        )

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve. Idempotent; after ``stop()`` it serves again on the same port."""
        if self._runner is not None:
            return
        runner = web.AppRunner(
            self._http.app,
            handler_cancellation=True,  # a reset connection cancels its in-flight handler
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            keepalive_timeout=self._idle_timeout,
        )
        await runner.setup()
        self._runner = runner
        try:
            await self._transition(up=True)
        except BaseException:
            self._runner = None
            await runner.cleanup()
            raise
        self._feed.start()
        self._filters.start()

    async def stop(self) -> None:
        """Stop flapping, close WebSockets (1001), reset every other connection (requests
        held by a hang included), release the port, stop the head watcher. Ends a hang; the
        other faults stay for the next ``start()``. Idempotent."""
        await self._cancel_flap()
        runner = self._runner
        if runner is None:
            return
        await self._transition(up=False, graceful=True)
        await self._await_closed(self._gate.release())
        self._feed.resume()
        await self._feed.stop()
        self._filters.stop()
        self._runner = None
        await runner.cleanup()

    # -- faults --------------------------------------------------------------------------

    async def kill(self) -> None:
        """Refuse new connections and reset open ones. Stops a running flap. Idempotent."""
        self._require_started()
        await self._cancel_flap()
        await self._transition(up=False)

    async def restore(self) -> None:
        """Clear every fault (kill, flap, degrade incl. per method, errors, hang, lag) and
        listen again on the same port. Idempotent.

        Requests held by a hang are reset (RST) before this returns; WebSocket traffic held
        by it flows again. A lagging provider catches up: its subscribers get every block
        after the frozen one, in order (replacements first if a reorg reached below it).
        """
        self._require_started()
        await self._cancel_flap()
        gate = self._gate
        gate.added_latency = 0.0
        gate.added_jitter = 0.0
        gate.method_latency.clear()
        gate.method_jitter.clear()
        gate.error_fault = None
        await self._await_closed(gate.release())
        self._view.unfreeze()
        self._feed.resume()
        await self._transition(up=True)

    async def degrade(
        self, latency: float, jitter: float = 0.0, *, method: str | None = None
    ) -> None:
        """Set an added latency and jitter in seconds (absolute; 0 clears).

        ``method=None`` slows every request (HTTP, WebSocket answers and notifications,
        ``/health``). With a JSON-RPC method name only requests calling it are slowed, on
        top of the global degrade; several methods may be degraded at once, and
        ``degrade(0, method=m)`` clears ``m`` alone.
        """
        if latency < 0 or jitter < 0:
            raise ValueError("added latency and jitter must be >= 0")
        gate = self._gate
        if method is None:
            gate.added_latency = latency
            gate.added_jitter = jitter
        elif latency == 0 and jitter == 0:
            gate.method_latency.pop(method, None)
            gate.method_jitter.pop(method, None)
        else:
            gate.method_latency[method] = latency
            gate.method_jitter[method] = jitter

    async def errors(
        self,
        rate: float,
        kind: str = "server-error",
        *,
        code: int = -32603,
        retry_after: float = 1.0,
    ) -> None:
        """Fail ``rate`` (0-1) of JSON-RPC requests with ``kind``; rate 0 clears.

        Drawn from the provider's seeded RNG once per HTTP request (a batch is one) or
        WebSocket frame. ``server-error``: HTTP 503 + -32603; ``rate-limit``: HTTP 429 +
        ``Retry-After`` (``retry_after`` rounded up, at least 1 s) + Infura's -32005 body;
        ``rpc-error``: HTTP 200 + the JSON-RPC error ``code`` (-32603 or -32099..-32000).
        See ``injected`` for the exact bodies. Replaces an ``errors`` fault already set.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"error rate must be within 0..1, got {rate}")
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r} (known: {', '.join(ERROR_KINDS)})")
        if kind == "rpc-error":
            check_code(code)
        if retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {retry_after}")
        self._gate.error_fault = (
            None if rate == 0 else ErrorFault(rate, kind, fault_code(kind, code), retry_after)
        )

    async def hang(self) -> None:
        """Accept connections and answer nothing until ``restore()`` (or ``stop()``).

        HTTP requests and ``/health`` are held open without a response (then reset by
        ``restore``); WebSocket handshakes are not completed; open WebSockets get no
        answers and no notifications (they resume, in order, after ``restore``).
        Idempotent.
        """
        self._require_started()
        self._gate.hang()
        self._feed.pause()

    async def lag(self) -> int:
        """Freeze this provider's head at the chain's current head while the chain goes
        on; returns the frozen number (kept if already lagging).

        ``eth_blockNumber`` answers it, ``latest``/``pending`` are its block, newer blocks
        are null (by number and by hash), ``eth_getLogs`` stops at it, ``/health`` shows it
        with ``"lagging": true``, and no newHeads are sent. ``restore()`` catches up.
        """
        self._feed.catch_up()  # announce up to the frozen head first, then nothing
        return self._view.freeze()

    async def flap(self, down: float, up: float, cycles: int = 0) -> None:
        """Cycle down ``down`` s / up ``up`` s, ``cycles`` times (0 = until restore or stop).

        Returns once the first down phase is in effect. Replaces a flap already running.
        """
        if down <= 0 or up <= 0 or cycles < 0:
            raise ValueError("flap needs down > 0, up > 0 and cycles >= 0")
        self._require_started()
        await self._cancel_flap()
        await self._transition(up=False)
        self._flap_task = asyncio.create_task(
            self._flap_loop(down, up, cycles), name=f"flap-{self.id}"
        )

    async def ws_drop(self) -> int:
        """Close every open WebSocket with 1001 (going away); HTTP and the port stay up.

        Returns how many sockets it closed, once their close handshakes are over (or they
        were reset after ``ws_app.CLOSE_TIMEOUT``). Clients may reconnect at once.
        """
        self._require_started()
        return await self._ws.close_all(WSCloseCode.GOING_AWAY, "going away")

    # -- internals -----------------------------------------------------------------------

    def _require_started(self) -> None:
        if self._runner is None:
            raise RuntimeError(f"provider {self.id} is not started")

    def _make_protocol(self) -> asyncio.BaseProtocol:
        """New connections get HTTP while up and an immediate reset while down."""
        server = self._runner.server if self._runner is not None else None
        if self._gate.down or server is None:
            return ResetProtocol()
        return server()

    async def _flap_loop(self, down: float, up: float, cycles: int) -> None:
        try:
            done = 0
            while True:
                await asyncio.sleep(down)
                await self._transition(up=True)
                await asyncio.sleep(up)
                done += 1
                if cycles and done >= cycles:
                    return
                await self._transition(up=False)
        finally:
            if self._flap_task is asyncio.current_task():
                self._flap_task = None

    async def _cancel_flap(self) -> None:
        task, self._flap_task = self._flap_task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    async def _transition(self, *, up: bool, graceful: bool = False) -> None:
        """Go up or down, serialised, and never abandoned half-way.

        Shielded so that cancelling the caller (a flap being stopped) cannot leave a bound
        socket without an owner; the lock keeps a later transition behind this one.
        """
        await asyncio.shield(asyncio.ensure_future(self._locked_transition(up, graceful)))

    async def _locked_transition(self, up: bool, graceful: bool) -> None:
        async with self._lock:
            if up:
                await self._go_up()
            else:
                await self._go_down(graceful)

    async def _go_up(self) -> None:
        if self._runner is None:
            return
        self._gate.down = False  # before binding: the first accepted connection is served
        try:
            await self._listener.open()
        except BaseException:
            self._gate.down = True
            raise

    async def _go_down(self, graceful: bool = False) -> None:
        """Stop listening and cut every connection; ``graceful`` closes WebSockets first.
        Its filters go too: a provider that comes back is a restarted node."""
        self._gate.down = True
        self._filters.clear()
        self._listener.close()
        if graceful:
            await self._ws.close_all(WSCloseCode.GOING_AWAY, "provider stopping")
        await self._reset_connections()
        await self._ws.wait_gone(RESET_TIMEOUT)  # their handlers have let go of everything

    async def _reset_connections(self) -> None:
        """RST every connection aiohttp tracks, idle keep-alive and in-flight alike.

        A socket accepted just before the listener closed gets its HTTP protocol on the
        next loop iteration and registers on the one after, so sweep across two yields;
        anything later is created while down and gets ``ResetProtocol``.
        """
        server = self._runner.server if self._runner is not None else None
        if server is None:
            return
        aborted: list[asyncio.BaseTransport] = []
        for sweep in range(3):
            for handler in server.connections:
                transport = handler.transport
                if transport is not None and transport not in aborted:
                    reset_transport(transport)
                    aborted.append(transport)
            if sweep < 2:
                await asyncio.sleep(0)
        await self._await_closed(aborted)

    @staticmethod
    async def _await_closed(transports: Iterable[asyncio.BaseTransport]) -> None:
        """Wait (bounded) until the sockets of reset transports are closed."""
        pending = list(transports)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESET_TIMEOUT
        while not all(socket_closed(t) for t in pending) and loop.time() < deadline:
            await asyncio.sleep(0.001)
