"""Open-model HTTP load: requests leave on schedule whatever the answers do (as wrk2 does).

Each request's latency is measured from its *intended* send time, so a stalled gateway shows
up in the tail instead of silently slowing the load (coordinated-omission correction). The
time from the real send is recorded too.

Several of these run side by side, one per worker process (``worker.py``): the schedule is
one sequence of slots ``origin + k / rate`` and worker ``i`` of ``n`` sends the slots with
``k % n == i``, so together they send exactly the one schedule. ``rate: max`` is the closed
loop instead: each connection sends its next request when the last answer is in.

Requests go over a bounded pool of keep-alive connections (``battletui.wire``), as
pre-encoded bytes. The generator checks itself (see ``metrics/instrument.py``): each launch
counts a request due and sent, each request records how late it really left (its slip), and
a loop monitor runs alongside. A request the schedule could not launch (the in-flight cap, a
schedule still owing requests when the pace changes or the load stops) is counted as
*unsent*, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Mapping

from battletui.metrics import HttpMetrics, RequestResult
from battletui.metrics.instrument import SLIP_LIMIT_MS
from battletui.processes import cancel_and_wait
from battletui.scenario import HttpLoadSpec
from battletui.wire import HttpPool, loads
from battletui.workload.answer_check import AnswerChecker
from battletui.workload.loop_monitor import LoopMonitor
from battletui.workload.requests import RequestFactory

UPSTREAM_HEADER = "X-Upstream"
_BLOCK_METHODS = frozenset({"eth_getBlockByNumber", "eth_getBlockByHash"})
FAILOVERS_HEADER = "X-Failovers"
FAILOVERS_HEADER_LOWER = FAILOVERS_HEADER.lower()
OWED_GRACE = SLIP_LIMIT_MS / 1000
"""A slot that came due less than this before the schedule ended is not late yet: the schedule
is taken to end that much earlier, so a stop landing between two sends is not a miss."""


class HttpLoad:
    """Sends the scenario's HTTP load at ``url`` and records every outcome in ``metrics``.

    ``upstream_header`` names the response header that says which upstream answered (None:
    the gateway says nothing, the traffic share then comes from what the providers
    received); ``upstream_names`` turns the gateway's upstream names into provider ids.
    ``share`` is ``(i, n)``: this generator sends the i-th of every n slots of the schedule.
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
        share: tuple[int, int] = (0, 1),
        checker: AnswerChecker | None = None,
        factory: RequestFactory | None = None,
    ) -> None:
        index, count = share
        if not 0 <= index < count:
            raise ValueError(f"share {index} of {count}: expected 0 <= i < n")
        self._url = url
        self._upstream_header = None if upstream_header is None else upstream_header.lower()
        self._upstream_names = dict(upstream_names or {})
        self._spec = spec
        self._metrics = metrics
        self._clock = clock
        self._factory = factory or RequestFactory(spec.mix, seed, stream=index, preset=spec.preset)
        self._checker = checker
        """Judges every answer against the canonical chain (None: only its shape)."""
        self._share = share
        self._rate = spec.rate
        self._max_in_flight = max_in_flight
        self._in_flight: set[asyncio.Task[None]] = set()
        self._pool: HttpPool | None = None
        self._runner: asyncio.Task[None] | None = None
        self._rescheduled = asyncio.Event()
        self._timeout = spec.timeout
        self._monitor = LoopMonitor(metrics)
        self._origin = 0.0
        self._next = 0
        """Index (in this generator's share) of the schedule's next slot, not launched yet."""
        self._pace = 0.0
        """Rate of the whole schedule in progress; 0 while nothing is due."""
        self._start_at: float | None = None
        self._wake: asyncio.Future[None] | None = None
        """The schedule's sleep until its next slot (a rate change ends it early)."""
        self.sent = 0

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def connects(self) -> int:
        """Connections opened so far (few: they are kept alive and reused)."""
        return 0 if self._pool is None else self._pool.connects

    def set_rate(self, rate: float, *, origin: float | None = None) -> None:
        """Change the arrival rate from ``origin`` (default now) on: the schedule restarts
        at the new pace. Every worker of one load is given the same origin."""
        self._rate = max(0.0, rate)
        self._start_at = origin
        self._rescheduled.set()
        if self._wake is not None:
            _resolve(self._wake)

    async def start(self, *, origin: float | None = None) -> None:
        """Start sending; the schedule's slot 0 is at ``origin`` (default: now)."""
        self._pool = HttpPool(self._url, size=self._spec.connections)
        self._start_at = origin
        self._runner = asyncio.create_task(
            self._closed_loop() if self._spec.closed else self._schedule(), name="http-load"
        )
        self._monitor.start()

    async def stop(self, *, drain: float = 0.0) -> None:
        """Stop sending; wait up to ``drain`` seconds for requests in flight, cancel the rest.

        Requests that were due before now but never launched are counted unsent."""
        stopped = self._clock()
        if self._runner is not None:
            await cancel_and_wait(self._runner)
            self._runner = None
            self._metrics.unsent(self._owed(stopped))
            self._pace = 0.0
        if self._in_flight and drain > 0:
            await asyncio.wait(set(self._in_flight), timeout=drain)
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._checker is not None:
            for judged in self._checker.drain():
                self._metrics.answer(judged.method, judged.upstream, judged.verdict)
        await self._monitor.stop()

    # -- the open model ----------------------------------------------------------------------

    async def _schedule(self) -> None:
        index, count = self._share
        while True:
            self._rescheduled.clear()
            rate = self._rate
            if rate <= 0:
                await self._rescheduled.wait()
                continue
            origin = self._start_at if self._start_at is not None else self._clock()
            self._start_at = None
            self._origin, self._next, self._pace = origin, 0, rate
            step = count / rate
            first = origin + index / rate
            while not self._rescheduled.is_set():
                intended = first + self._next * step
                delay = intended - self._clock()
                if delay > 0:
                    await self._sleep(delay)
                    if self._rescheduled.is_set():
                        break
                self._launch(intended)
                self._next += 1
                if delay <= 0 and self._next % 32 == 0:
                    await asyncio.sleep(0)  # catching up: still let answers be read
            self._metrics.unsent(self._owed(self._clock()))  # the old pace's debt, if any
            self._pace = 0.0

    async def _sleep(self, delay: float) -> None:
        """Until the next slot is due or the rate changes, whichever comes first.

        A bare future and one timer: ``asyncio.wait_for`` would make a task per request,
        and on Python 3.11 it can swallow the cancellation that stops the load."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._wake = waiter
        timer = loop.call_later(delay, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._wake = None

    def _owed(self, until: float) -> int:
        """This share's slots due before ``until`` (less the grace), not launched."""
        if self._pace <= 0:
            return 0
        span = until - OWED_GRACE - self._origin
        if span <= 0:
            return 0
        index, count = self._share
        due_overall = math.ceil(span * self._pace)  # slots 0 .. due_overall-1 are due
        mine = max(0, -(-(due_overall - index) // count))
        return max(0, mine - self._next)

    def _launch(self, intended: float) -> None:
        if len(self._in_flight) >= self._max_in_flight:
            self._metrics.unsent(intended=intended)
            return
        self._metrics.scheduled(intended)
        task = asyncio.create_task(self._one(intended))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        self.sent += 1

    # -- the closed loop ---------------------------------------------------------------------

    async def _closed_loop(self) -> None:
        """``connections`` loops, each sending its next request when its last is answered."""

        async def one_connection() -> None:
            while True:
                if self._rate <= 0:
                    await self._rescheduled.wait()
                    self._rescheduled.clear()
                    continue
                now = self._clock()
                self._metrics.scheduled(now)
                self.sent += 1
                await self._one(now)

        loops = [asyncio.create_task(one_connection()) for _ in range(self._spec.connections)]
        try:
            await asyncio.gather(*loops)
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    # -- one request -------------------------------------------------------------------------

    async def _one(self, intended: float) -> None:
        pool = self._pool
        assert pool is not None
        method, body, query = self._factory.next()
        request = pool.encode(body)
        sent = self._clock()
        self._metrics.left(intended, sent)
        ok = False
        kind: str | None = None
        upstream: str | None = None
        failovers = 0
        try:
            response = await pool.send(request, timeout=self._timeout)
        except TimeoutError:
            kind = "timeout"
        except OSError:  # refused, reset, closed, unreadable: wire.WireError and the rest
            kind = "transport"
        else:
            headers = response.headers
            if self._upstream_header is not None:
                upstream = headers.get(self._upstream_header)
                if upstream is not None:
                    upstream = self._upstream_names.get(upstream, upstream)
            failovers = _int_header(headers.get(FAILOVERS_HEADER_LOWER))
            ok, kind, result = self._judge(response.status, response.body, method)
        done = self._clock()
        checker = self._checker
        if checker is not None:
            if ok:
                verdict = checker.check(method, upstream, query, result, sent, done)
                if verdict is not None:
                    self._metrics.answer(method, upstream, verdict)
            for judged in checker.settle():
                self._metrics.answer(judged.method, judged.upstream, judged.verdict)
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

    def _judge(self, status: int, raw: bytes, method: str) -> tuple[bool, str | None, object]:
        if status >= 400:
            return False, f"http_{status}", None
        try:
            answer = loads(raw)
        except (ValueError, RecursionError):
            return False, "bad_response", None
        if not isinstance(answer, dict):
            return False, "bad_response", None
        if "error" in answer:
            return False, "rpc_error", None
        if "result" not in answer:
            return False, "bad_response", None
        result = answer["result"]
        factory = self._factory
        if (
            method in _BLOCK_METHODS
            and isinstance(result, dict)
            and isinstance(result.get("hash"), str)
        ):
            factory.last_block_hash = result["hash"]
            number = result.get("number")
            if isinstance(number, str):
                with contextlib.suppress(ValueError):  # a block: remember the newest seen
                    factory.last_block_number = max(factory.last_block_number, int(number, 16))
        if method == "eth_blockNumber" and isinstance(result, str):
            with contextlib.suppress(ValueError):  # remember the head
                factory.last_block_number = max(factory.last_block_number, int(result, 16))
        return True, None, result


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _int_header(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0
