"""Open-model HTTP load: requests leave on schedule whatever the answers do (as wrk2 does).

Each request's latency is measured from its *intended* send time, so a stalled gateway shows
up in the tail instead of silently slowing the load (coordinated-omission correction). The
time from the real send is recorded too.

The generator checks itself (see ``metrics/instrument.py``): each launch counts a request due
and sent, each request records how late it really left (its slip), and a loop monitor runs
alongside. A request the schedule could not launch (the in-flight cap, a schedule still owing
requests when the pace changes or the load stops) is counted as *unsent*, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Mapping

import aiohttp

from battletui.metrics import HttpMetrics, RequestResult
from battletui.metrics.instrument import SLIP_LIMIT_MS
from battletui.scenario import HttpLoadSpec
from battletui.workload.loop_monitor import LoopMonitor
from battletui.workload.requests import RequestFactory

UPSTREAM_HEADER = "X-Upstream"
FAILOVERS_HEADER = "X-Failovers"
OWED_GRACE = SLIP_LIMIT_MS / 1000
"""A slot that came due less than this before the schedule ended is not late yet: the schedule
is taken to end that much earlier, so a stop landing between two sends is not a miss."""


class HttpLoad:
    """Sends the scenario's HTTP load at ``url`` and records every outcome in ``metrics``.

    ``upstream_header`` names the response header that says which upstream answered (None:
    the gateway says nothing, the traffic share then comes from what the providers
    received); ``upstream_names`` turns the gateway's upstream names into provider ids.
    """

    def __init__(
        self,
        url: str,
        spec: HttpLoadSpec,
        metrics: HttpMetrics,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 20_000,
        upstream_header: str | None = UPSTREAM_HEADER,
        upstream_names: Mapping[str, str] | None = None,
    ) -> None:
        self._url = url
        self._upstream_header = upstream_header
        self._upstream_names = dict(upstream_names or {})
        self._spec = spec
        self._metrics = metrics
        self._clock = clock
        self._factory = RequestFactory(spec.mix, seed)
        self._rate = spec.rate
        self._max_in_flight = max_in_flight
        self._in_flight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._rescheduled = asyncio.Event()
        self._timeout = aiohttp.ClientTimeout(total=spec.timeout)  # one for every request
        self._monitor = LoopMonitor(metrics)
        self._origin = 0.0
        self._next = 0
        """Index of the schedule's next slot, not launched yet."""
        self._pace = 0.0
        """Rate of the schedule in progress; 0 while nothing is due."""
        self.sent = 0

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def set_rate(self, rate: float) -> None:
        """Change the arrival rate from now on (the schedule restarts at the new pace)."""
        self._rate = max(0.0, rate)
        self._rescheduled.set()

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        self._session = aiohttp.ClientSession(connector=connector)
        self._runner = asyncio.create_task(self._schedule(), name="http-load")
        self._monitor.start()

    async def stop(self, *, drain: float = 0.0) -> None:
        """Stop sending; wait up to ``drain`` seconds for requests in flight, cancel the rest.

        Requests that were due before now but never launched are counted unsent."""
        stopped = self._clock()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
            self._metrics.unsent(self._owed(stopped))
            self._pace = 0.0
        if self._in_flight and drain > 0:
            await asyncio.wait(set(self._in_flight), timeout=drain)
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._monitor.stop()

    async def _schedule(self) -> None:
        while True:
            self._rescheduled.clear()
            rate = self._rate
            if rate <= 0:
                await self._rescheduled.wait()
                continue
            self._origin, self._next, self._pace = self._clock(), 0, rate
            while not self._rescheduled.is_set():
                intended = self._origin + self._next / rate
                delay = intended - self._clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._rescheduled.wait(), delay)
                    if self._rescheduled.is_set():
                        break
                self._launch(intended)
                self._next += 1
                if delay <= 0 and self._next % 32 == 0:
                    await asyncio.sleep(0)  # catching up: still let answers be read
            self._metrics.unsent(self._owed(self._clock()))  # the old pace's debt, if any
            self._pace = 0.0

    def _owed(self, until: float) -> int:
        """Slots of the current schedule due before ``until`` (less the grace), not launched."""
        if self._pace <= 0:
            return 0
        span = until - OWED_GRACE - self._origin
        if span <= 0:
            return 0
        return max(0, math.ceil(span * self._pace) - self._next)

    def _launch(self, intended: float) -> None:
        if len(self._in_flight) >= self._max_in_flight:
            self._metrics.unsent(intended=intended)
            return
        self._metrics.scheduled(intended)
        task = asyncio.create_task(self._one(intended))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        self.sent += 1

    async def _one(self, intended: float) -> None:
        assert self._session is not None
        method, body = self._factory.next()
        sent = self._clock()
        self._metrics.left(intended, sent)
        ok = False
        kind: str | None = None
        upstream: str | None = None
        failovers = 0
        try:
            async with self._session.post(
                self._url,
                json=body,
                timeout=self._timeout,
            ) as response:
                raw = await response.read()
                if self._upstream_header is not None:
                    upstream = response.headers.get(self._upstream_header)
                    if upstream is not None:
                        upstream = self._upstream_names.get(upstream, upstream)
                failovers = _int_header(response.headers.get(FAILOVERS_HEADER))
                ok, kind = self._judge(response.status, raw)
        except TimeoutError:
            kind = "timeout"
        except aiohttp.ClientError:
            kind = "transport"
        except OSError:
            kind = "transport"
        done = self._clock()
        self._metrics.record(
            RequestResult(
                method=method,
                intended=intended,
                sent=sent,
                done=done,
                ok=ok,
                error_kind=kind,
                upstream=upstream,
                failovers=failovers,
            )
        )

    def _judge(self, status: int, raw: bytes) -> tuple[bool, str | None]:
        if status >= 500:
            return False, f"http_{status}"
        if status >= 400:
            return False, f"http_{status}"
        try:
            answer = json.loads(raw)
        except ValueError:
            return False, "bad_response"
        if not isinstance(answer, dict):
            return False, "bad_response"
        if "error" in answer:
            return False, "rpc_error"
        if "result" not in answer:
            return False, "bad_response"
        result = answer["result"]
        if isinstance(result, dict) and isinstance(result.get("hash"), str):
            self._factory.last_block_hash = result["hash"]
        if isinstance(result, str) and result.startswith("0x") and len(result) <= 18:
            with contextlib.suppress(ValueError):  # eth_blockNumber: remember the head
                self._factory.last_block_number = max(
                    self._factory.last_block_number, int(result, 16)
                )
        return True, None


def _int_header(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0
