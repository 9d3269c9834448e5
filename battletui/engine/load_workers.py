"""``LoadWorkers``: the HTTP load as worker processes (``python -m battletui.workload.worker``).

The engine's own loop runs the WebSocket subscribers, the timeline, the observers and the
control server; the requests whose latency is the measurement leave from the workers' loops,
one per process, each sending its share of the one schedule. The engine tells them when the
schedule starts and every change of rate (one origin for all), reads their figures off
their sockets into ``MergedHttpMetrics``, and ends them. A worker that dies ends the session,
which is still written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import orjson

from battletui.engine.spawn import spawn_part
from battletui.metrics import LiveSecond
from battletui.metrics.interval_codec import record_from_json
from battletui.metrics.merged import MergedHttpMetrics
from battletui.processes import ChildProcess, cancel_and_wait
from battletui.scenario import HttpLoadSpec
from battletui.workload.worker import spec_to_json

__all__ = ["MAX_AUTO_WORKERS", "LoadWorkers", "auto_workers"]

MODULE: Final = "battletui.workload.worker"
MAX_AUTO_WORKERS: Final = 8
STOPPED_GRACE: Final = 5.0
"""Seconds past the drain a worker may take to send its last seconds before it is ended."""

_log = logging.getLogger(__name__)


def auto_workers(cores: int | None = None) -> int:
    """``workers: auto``: half the cores this process may use, 1 to ``MAX_AUTO_WORKERS``.

    The other half is left to the system under test, the lab and the engine, which share
    the machine with the load (one worker on 2 cores)."""
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
    return max(1, min(MAX_AUTO_WORKERS, cores // 2))


class _Worker:
    def __init__(self, index: int, child: ChildProcess, port: int) -> None:
        self.index = index
        self.child = child
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.stopped = asyncio.Event()
        self.sent = 0


class LoadWorkers:
    """``count`` workers aiming ``spec`` at ``url``; their figures land in ``metrics``."""

    def __init__(
        self,
        url: str,
        spec: HttpLoadSpec,
        *,
        seed: int,
        count: int,
        upstream_header: str | None,
        upstream_names: Mapping[str, str],
        log: Path | None = None,
        truth: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = url
        self._spec = spec
        self._seed = seed
        self.count = count
        self._upstream_header = upstream_header
        self._upstream_names = dict(upstream_names)
        self._log = log
        self._truth = dict(truth) if truth is not None else None
        self._token = secrets.token_urlsafe(24)
        self._workers: list[_Worker] = []
        self._readers: list[asyncio.Task[None]] = []
        self._rate = spec.rate
        self.metrics: MergedHttpMetrics | None = None

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def pids(self) -> list[int]:
        return [worker.child.pid for worker in self._workers]

    @property
    def sent(self) -> int:
        """Requests the workers sent (known once they have stopped)."""
        return sum(worker.sent for worker in self._workers)

    async def spawn(self) -> None:
        """Start the worker processes and connect to each (no load yet). Raises
        SessionStartError."""
        spawned = await asyncio.gather(
            *(self._spawn_one(index) for index in range(self.count)), return_exceptions=True
        )
        failure = next((s for s in spawned if isinstance(s, BaseException)), None)
        self._workers = [s for s in spawned if isinstance(s, _Worker)]
        if failure is not None:
            await self.close()
            raise failure
        for worker in self._workers:
            reader, writer = await asyncio.open_connection("127.0.0.1", worker.port)
            writer.write(self._token.encode() + b"\n")
            worker.reader, worker.writer = reader, writer

    async def _spawn_one(self, index: int) -> _Worker:
        config: dict[str, Any] = {
            "url": self._url,
            "share": [index, self.count],
            "seed": self._seed,
            "token": self._token,
            "http": spec_to_json(self._spec),
            "upstream_header": self._upstream_header,
            "upstream_names": self._upstream_names,
            "truth": self._truth,
        }
        child, port = await spawn_part(
            "load worker", MODULE, config, lambda ready: int(ready["port"]), log=self._log
        )
        return _Worker(index, child, port)

    def start(self, metrics: MergedHttpMetrics) -> None:
        """Slot 0 of the schedule is now, on every worker; figures go to ``metrics``."""
        self.metrics = metrics
        now = time.monotonic()
        for worker in self._workers:
            self._readers.append(
                asyncio.create_task(self._read(worker), name=f"load-worker-{worker.index}")
            )
        self._broadcast({"op": "start", "t0": metrics.start, "origin": now, "rate": self._rate})

    def set_rate(self, rate: float) -> None:
        """The whole schedule's new rate, from now on, on every worker at once."""
        self._rate = max(0.0, rate)
        self._broadcast({"op": "rate", "rate": self._rate, "origin": time.monotonic()})

    def _broadcast(self, message: Mapping[str, Any]) -> None:
        line = orjson.dumps(message) + b"\n"
        for worker in self._workers:
            if worker.writer is not None and not worker.writer.is_closing():
                worker.writer.write(line)

    async def _read(self, worker: _Worker) -> None:
        assert worker.reader is not None and self.metrics is not None
        metrics = self.metrics
        try:
            while line := await worker.reader.readline():
                message = orjson.loads(line)
                kind = message.get("t")
                if kind == "live":
                    metrics.live(worker.index, LiveSecond.from_json(message))
                elif kind == "second":
                    metrics.closed(worker.index, record_from_json(message))
                elif kind == "stopped":
                    worker.sent = int(message.get("sent", 0))
                    worker.stopped.set()
        except (ConnectionError, ValueError, KeyError, TypeError) as error:
            _log.warning("load worker %d: %s", worker.index, error)
        finally:
            worker.stopped.set()

    async def stop(self, *, drain: float = 0.0) -> None:
        """Stop sending (due requests left unsent are counted), wait for every worker's
        last seconds, merge them, then end the processes."""
        self._broadcast({"op": "stop", "drain": drain})
        waits = [worker.stopped.wait() for worker in self._workers]
        if waits:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waits), drain + STOPPED_GRACE)
        if self.metrics is not None:
            self.metrics.flush()
        await self.close()

    async def close(self) -> None:
        await cancel_and_wait(*self._readers)
        self._readers.clear()
        for worker in self._workers:
            if worker.writer is not None:
                worker.writer.close()
        await asyncio.gather(*(worker.child.stop() for worker in self._workers))

    async def wait_exited(self) -> int:
        """Until one worker process exits; its exit code."""
        if not self._workers:
            await asyncio.Event().wait()
        waits = [asyncio.ensure_future(worker.child.wait()) for worker in self._workers]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return next(iter(done)).result()
