"""``python -m battletui.workload.worker``: one load-generator process.

The engine starts as many as ``workload.http.workers`` says; each has its own event loop
(uvloop) and sends its share of the one open-model schedule (``HttpLoad(share=(i, n))``), so
the loop that timestamps requests does nothing else — no screen, no WebSocket checking, no
journal — and several cores can send. The configuration line on stdin::

    {"url": "http://127.0.0.1:8545", "share": [0, 2], "seed": 42, "token": "...",
     "http": {"rate": 1000, "timeout": 5.0, "mix": {...}, "closed": false,
              "connections": 64},
     "upstream_header": "X-Upstream", "upstream_names": {},
     "truth": {"url": "ws://127.0.0.1:.../truth", "token": "...", "chain_id": 1,
               "block_time": 1.0, "stale_blocks": 2}}

With ``truth`` it follows a replica of the lab's chain (``truth.py``) and judges every
answer against it (``answer_check.py``); the verdicts go back in each second's ``answers``.

It listens on 127.0.0.1 for the engine alone (the first line must be ``token``) and answers
``{"port", "pid"}``. Then, as JSON lines on that connection:

* engine to worker: ``{"op": "start", "t0", "origin", "rate"}`` (``t0`` is the session
  clock's zero and ``origin`` the schedule's, both ``time.monotonic()``, which all processes
  of one machine share), ``{"op": "rate", "rate", "origin"}``, ``{"op": "stop", "drain"}``;
* worker to engine: ``{"t": "live", ...}`` four times a second (``LiveSecond``: the newest
  seconds so far), ``{"t": "second", ...}`` for each closed second (``IntervalRecord``, the
  journal's own shape), and ``{"t": "stopped", "sent"}`` once its last second is out.

It stops when the engine's connection or its stdin closes (``processes.child_main``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import orjson

from battletui.metrics import HttpMetrics
from battletui.metrics.http import IntervalRecord
from battletui.metrics.interval_codec import record_to_json
from battletui.processes import ChildContext, cancel_and_wait, child_main
from battletui.scenario import HttpLoadSpec
from battletui.workload.answer_check import AnswerChecker
from battletui.workload.http_load import UPSTREAM_HEADER, HttpLoad
from battletui.workload.requests import RequestFactory
from battletui.workload.truth import ChainReplica, TruthError

__all__ = ["LIVE_PERIOD", "WorkerConfig", "read_config"]

LIVE_PERIOD: Final = 0.25
"""Seconds between live figures: the screen's window is at most this far behind."""
HELLO_TIMEOUT: Final = 10.0
CANNOT_START: Final = "a load worker could not start"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    url: str
    spec: HttpLoadSpec
    share: tuple[int, int]
    seed: int
    token: str
    upstream_header: str | None
    upstream_names: Mapping[str, str]
    truth: Mapping[str, Any] | None = None
    """Where the lab's truth feed is (``url``, ``token``) and the chain it describes
    (``chain_id``, ``block_time``) and the stale bound: answers are then judged."""


def spec_to_json(spec: HttpLoadSpec) -> dict[str, Any]:
    return {
        "rate": spec.rate,
        "timeout": spec.timeout,
        "mix": dict(spec.mix),
        "closed": spec.closed,
        "connections": spec.connections,
        "preset": spec.preset,
    }


def read_config(config: Mapping[str, Any]) -> WorkerConfig:
    """The configuration line, checked (KeyError / TypeError / ValueError say what is wrong)."""
    http = config["http"]
    spec = HttpLoadSpec(
        rate=float(http["rate"]),
        timeout=float(http["timeout"]),
        mix=MappingProxyType({str(k): int(v) for k, v in dict(http["mix"]).items()}),
        closed=bool(http["closed"]),
        connections=int(http["connections"]),
        preset=None if http.get("preset") is None else str(http["preset"]),
    )
    index, count = (int(n) for n in config["share"])
    if not 0 <= index < count:
        raise ValueError(f"share: {index} of {count}")
    header = config.get("upstream_header", UPSTREAM_HEADER)
    return WorkerConfig(
        url=str(config["url"]),
        spec=spec,
        share=(index, count),
        seed=int(config["seed"]),
        token=str(config["token"]),
        upstream_header=None if header is None else str(header),
        upstream_names={str(k): str(v) for k, v in dict(config.get("upstream_names", {})).items()},
        truth=None if config.get("truth") is None else dict(config["truth"]),
    )


class _Worker:
    """The load, its metrics, and the one connection to the engine."""

    def __init__(
        self, config: WorkerConfig, stop: asyncio.Event, replica: ChainReplica | None = None
    ) -> None:
        self._config = config
        self._replica = replica
        self._stop = stop
        self._writer: asyncio.StreamWriter | None = None
        self._load: HttpLoad | None = None
        self._metrics: HttpMetrics | None = None
        self._live: asyncio.Task[None] | None = None

    # -- the engine's connection --------------------------------------------------------------

    async def on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:  # one engine only
            writer.close()
            return
        try:
            hello = await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT)
        except (TimeoutError, ConnectionError):
            writer.close()
            return
        if not hmac.compare_digest(hello.strip(), self._config.token.encode()):
            writer.close()
            return
        self._writer = writer
        try:
            while line := await reader.readline():
                await self._command(orjson.loads(line))
        except (ConnectionError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            _log.warning("engine connection: %s", error)
        finally:
            await self.halt()
            self._stop.set()  # the engine is gone: nothing left to do

    def _send(self, message: Mapping[str, Any]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(orjson.dumps(message) + b"\n")

    async def _command(self, command: Mapping[str, Any]) -> None:
        op = command["op"]
        if op == "start":
            await self._start(float(command["t0"]), float(command["origin"]), command["rate"])
        elif op == "rate":
            if self._load is not None:
                self._load.set_rate(float(command["rate"]), origin=float(command["origin"]))
        elif op == "stop":
            await self.halt(drain=float(command.get("drain", 0.0)))
            self._send({"t": "stopped", "sent": 0 if self._load is None else self._load.sent})
            if self._writer is not None:
                await self._writer.drain()
        else:
            raise ValueError(f"unknown op {op!r}")

    # -- the load -----------------------------------------------------------------------------

    async def _start(self, t0: float, origin: float, rate: object) -> None:
        if self._load is not None:
            return
        config = self._config
        self._metrics = HttpMetrics(time.monotonic, start=t0, on_interval=self._closed)
        checker = factory = None
        replica = self._replica
        if replica is not None and config.truth is not None:
            chain = replica.chain
            checker = AnswerChecker(chain, int(config.truth["stale_blocks"]), replica.settled)
            factory = RequestFactory(
                config.spec.mix,
                config.seed,
                stream=config.share[0],
                preset=config.spec.preset,
                chain_id=chain.chain_id,
                chain=chain,
            )
        self._load = HttpLoad(
            config.url,
            config.spec,
            self._metrics,
            seed=config.seed,
            upstream_header=config.upstream_header,
            upstream_names=config.upstream_names,
            share=config.share,
            checker=checker,
            factory=factory,
        )
        if isinstance(rate, int | float):
            self._load.set_rate(float(rate))
        await self._load.start(origin=origin)
        self._live = asyncio.create_task(self._send_live(), name="live")

    def _closed(self, record: IntervalRecord) -> None:
        self._send({"t": "second", **record_to_json(record)})

    async def _send_live(self) -> None:
        assert self._metrics is not None
        while True:
            await asyncio.sleep(LIVE_PERIOD)
            self._live_now()

    def _live_now(self) -> None:
        if self._metrics is not None:
            for second in self._metrics.live_seconds():
                self._send({"t": "live", **second.to_json()})

    async def halt(self, *, drain: float = 0.0) -> None:
        """Stop the load (its debt counted unsent) and send every second it measured."""
        await cancel_and_wait(self._live)
        self._live = None
        if self._load is not None and self._metrics is not None:
            await self._load.stop(drain=drain)
            self._live_now()
            self._metrics.flush()


async def run(context: ChildContext) -> int:
    logging.basicConfig(level=logging.WARNING, format="load worker %(levelname)s %(message)s")
    try:
        config = read_config(context.config)
    except (KeyError, TypeError, ValueError) as error:
        context.fail(f"{CANNOT_START}: bad configuration: {error}")
        return 2
    replica = None
    if config.truth is not None:
        truth = config.truth
        replica = ChainReplica(
            str(truth["url"]),
            str(truth["token"]),
            seed=config.seed,
            chain_id=int(truth["chain_id"]),
            block_time=float(truth["block_time"]),
        )
        try:
            await replica.start()
        except TruthError as error:
            context.fail(f"{CANNOT_START}: {error}")
            return 2
    worker = _Worker(config, context.stop, replica)
    server = await asyncio.start_server(worker.on_connect, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    context.ready({"port": port, "pid": os.getpid()})
    try:
        await context.stop.wait()
    finally:
        server.close()
        await worker.halt()  # the parent left without a stop
        if replica is not None:
            await replica.stop()
    return 0


if __name__ == "__main__":
    child_main(run)
