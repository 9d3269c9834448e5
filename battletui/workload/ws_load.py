"""WebSocket subscribers: each holds a ``newHeads`` subscription and checks every head.

They talk to the system under test only over the socket, like a dapp would. A subscriber
whose own connection drops reconnects and resubscribes; what it missed meanwhile is counted
as gaps, because that is what its user would have missed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from battletui.metrics import WsMetrics
from battletui.processes import cancel_and_wait
from battletui.scenario import WsLoadSpec
from battletui.workload.answer_check import AnswerChecker
from battletui.workload.stream_check import HeadVerdict, StreamChecker

RECONNECT_DELAY = 0.2
OPEN_TIMEOUT = 5.0


class SubscriptionError(RuntimeError):
    """The endpoint refused the subscription (an error answer, not a transport problem)."""


class WsLoad:
    def __init__(
        self,
        url: str,
        spec: WsLoadSpec,
        metrics: WsMetrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_anomaly: Callable[[int, HeadVerdict], None] | None = None,
        answers: AnswerChecker | None = None,
    ) -> None:
        self._url = url
        self._spec = spec
        self._metrics = metrics
        self._clock = clock
        self._on_anomaly = on_anomaly
        self._answers = answers
        """Judges each head against the canonical chain (None: only the stream's order)."""
        self._tasks: list[asyncio.Task[None]] = []
        self.checkers = [StreamChecker() for _ in range(spec.subscribers)]

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._subscriber(index), name=f"ws-subscriber-{index}")
            for index in range(self._spec.subscribers)
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        if self._answers is not None:
            for late in self._answers.drain():
                self._metrics.head_judged(late.verdict)

    async def _subscriber(self, index: int) -> None:
        while True:
            try:
                async with connect(
                    self._url, open_timeout=OPEN_TIMEOUT, max_size=2**22, ping_interval=None
                ) as socket:
                    self._metrics.connection_opened(index)
                    try:
                        await self._listen(index, socket)
                    except asyncio.CancelledError:
                        self._metrics.connection_lost(index, reconnecting=False)
                        raise
                    except BaseException:
                        self._metrics.connection_lost(index, reconnecting=True)
                        raise
                    self._metrics.connection_lost(index, reconnecting=True)  # closed by peer
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, WebSocketException, SubscriptionError):
                pass  # counted above when it had connected; either way, try again
            await asyncio.sleep(RECONNECT_DELAY)

    async def _listen(self, index: int, socket: ClientConnection) -> None:
        request = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_subscribe",
            "params": [self._spec.subscription],
        }
        await socket.send(json.dumps(request))
        subscription: str | None = None
        checker = self.checkers[index]
        async for raw in socket:
            message: Any = json.loads(raw)
            if not isinstance(message, dict):
                continue
            if subscription is None and message.get("id") == 1:
                if "error" in message:
                    raise SubscriptionError(str(message["error"]))
                subscription = str(message.get("result"))
                continue
            if message.get("method") != "eth_subscription":
                continue
            params = message.get("params") or {}
            if params.get("subscription") != subscription:
                continue
            header = params.get("result") or {}
            try:
                number = int(header["number"], 16)
                verdict = checker.check(number, header["hash"], header["parentHash"])
            except (KeyError, TypeError, ValueError):
                continue
            self._count(index, verdict)
            self._judge(header, verdict)

    def _judge(self, header: Any, verdict: HeadVerdict) -> None:
        checker = self._answers
        if checker is None:
            return
        if verdict.kind != "duplicate":
            now = self._clock()
            judged = checker.check("newHeads", None, ("head_block",), header, now, now)
            if judged is not None:
                self._metrics.head_judged(judged)
        for late in checker.settle():
            self._metrics.head_judged(late.verdict)

    def _count(self, index: int, verdict: HeadVerdict) -> None:
        metrics = self._metrics
        if verdict.kind == "duplicate":
            metrics.duplicates += 1
        else:
            metrics.head_received(index, verdict.number)
            if verdict.kind == "gap":
                metrics.gaps += 1
                metrics.missing_blocks += verdict.missing
            elif verdict.kind == "reorg":
                metrics.reorgs += 1
            elif verdict.kind == "broken_link":
                metrics.broken_links += 1
        if verdict.kind not in ("ok", "first") and self._on_anomaly is not None:
            self._on_anomaly(index, verdict)
