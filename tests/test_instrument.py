"""The load generator checks itself: slip, requests due but unsent, loop lag, CPU, clipping."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from hdrh.histogram import HdrHistogram
from helpers.waiting import wait_until

from battletui.metrics import (
    HttpMetrics,
    IntervalRecord,
    LatencyStats,
    MergedHttpMetrics,
    RequestResult,
)
from battletui.metrics.instrument import (
    InstrumentSecond,
    InstrumentTally,
    is_behind,
    late_count,
)
from battletui.metrics.latency import (
    BAR_EDGES_MS,
    HIGHEST_US,
    INTERVAL_FIGURES,
    bars_of,
    new_histogram,
)
from battletui.scenario import HttpLoadSpec
from battletui.workload import HttpLoad
from battletui.workload.loop_monitor import LoopMonitor

# -- a gateway that never answers: requests stay in flight --------------------------------------


@pytest.fixture
async def hanging_url() -> AsyncIterator[str]:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def recorded(clock: FakeClock) -> tuple[HttpMetrics, list[IntervalRecord]]:
    records: list[IntervalRecord] = []
    return HttpMetrics(clock, start=clock.now, on_interval=records.append), records


def total(records: list[IntervalRecord], name: str) -> int:
    return sum(int(getattr(r, name)) for r in records)


# -- slip -------------------------------------------------------------------------------------


async def test_slip_is_how_late_a_request_left_against_its_intended_time(
    hanging_url: str,
) -> None:
    clock = FakeClock(10.0)
    metrics, records = recorded(clock)
    load = HttpLoad(hanging_url, HttpLoadSpec(rate=1), metrics, clock=clock)
    await load.start()
    await asyncio.sleep(0)  # the schedule starts at 10.0: its first slot is due at once...
    clock.now = 10.012  # ...but the request only gets to leave 12 ms later
    await wait_until(lambda: load.sent == 1, what="the first request")
    await asyncio.sleep(0.05)
    clock.now = 10.5
    await load.stop()
    metrics.flush()
    (record,) = records
    assert (record.due, record.sent, record.unsent) == (1, 1, 0)
    assert record.slip is not None
    slip = LatencyStats.of(record.slip)
    assert slip.count == 1 and 11.9 <= slip.max <= 12.1


def test_slip_counts_in_the_second_the_request_left() -> None:
    clock = FakeClock(0.0)
    metrics, records = recorded(clock)
    metrics.scheduled(0.9)
    metrics.left(0.9, 1.3)  # left 400 ms late, in second 1
    clock.now = 2.5
    metrics.tick()
    first, then = records[:2]
    assert first.due == 1 and first.slip is not None and first.slip.get_total_count() == 0
    assert then.slip is not None and 395 <= LatencyStats.of(then.slip).p50 <= 405


# -- unsent -----------------------------------------------------------------------------------


async def test_requests_over_the_in_flight_cap_are_unsent_failures_without_latency(
    hanging_url: str,
) -> None:
    records: list[IntervalRecord] = []
    metrics = HttpMetrics(time.monotonic, on_interval=records.append)
    load = HttpLoad(hanging_url, HttpLoadSpec(rate=200), metrics, max_in_flight=2)
    await load.start()
    await wait_until(lambda: metrics.errors["unsent"] >= 10, what="ten unsent requests")
    await load.stop()  # the two in flight are cancelled (they never answered)
    metrics.flush()
    due, sent, unsent = total(records, "due"), total(records, "sent"), total(records, "unsent")
    assert sent == 2 and unsent >= 10 and due == sent + unsent
    assert metrics.errors["unsent"] == unsent == metrics.requests
    assert metrics.ok == 0 and metrics.success_rate == 0.0  # they count, as failures
    assert metrics.corrected.get_total_count() == 0  # and have no latency to record
    assert metrics.instrument.summary(final=True).saturated


@pytest.mark.parametrize(
    ("stopped_at", "owed"),
    [
        (15.0, 4),  # slots at 11, 12, 13, 14 (15 came due just now: not late yet)
        (14.003, 3),  # the slot at 14.000 is within the grace
        (14.006, 4),
        (10.5, 0),
    ],
)
async def test_slots_due_before_the_stop_but_never_launched_are_unsent(
    hanging_url: str, stopped_at: float, owed: int
) -> None:
    clock = FakeClock(10.0)
    metrics, records = recorded(clock)
    load = HttpLoad(hanging_url, HttpLoadSpec(rate=1), metrics, clock=clock)
    await load.start()
    await wait_until(lambda: load.sent == 1, what="the first request")
    clock.now = stopped_at  # the schedule never woke for the next slots (a stalled loop)
    await load.stop()
    metrics.flush()
    assert total(records, "unsent") == owed == metrics.errors.get("unsent", 0)
    assert total(records, "due") == 1 + owed
    assert total(records, "sent") == 1


async def test_a_rate_change_counts_what_the_old_schedule_still_owed(hanging_url: str) -> None:
    clock = FakeClock(10.0)
    metrics, records = recorded(clock)
    load = HttpLoad(hanging_url, HttpLoadSpec(rate=1), metrics, clock=clock)
    await load.start()
    await wait_until(lambda: load.sent == 1, what="the first request")
    clock.now = 13.5
    load.set_rate(0)
    await asyncio.sleep(0.02)
    await load.stop()
    metrics.flush()
    assert total(records, "unsent") == 3  # 11, 12, 13


# -- clipped ----------------------------------------------------------------------------------


def test_latency_above_the_ceiling_is_counted_as_clipped_not_silently_capped() -> None:
    clock = FakeClock(0.0)
    metrics, records = recorded(clock)
    metrics.record(RequestResult("eth_call", 0.0, 0.0, 0.5, ok=True))
    metrics.record(RequestResult("eth_call", -200.0, 0.0, 0.5, ok=True))  # 200.5 s > 120 s
    metrics.flush()
    (record,) = records
    assert record.clipped == 1
    assert record.corrected.get_max_value() == pytest.approx(HIGHEST_US, rel=0.001)
    assert metrics.instrument.clipped == 1


# -- the judgement ----------------------------------------------------------------------------


def slips(*values_ms: float) -> HdrHistogram:
    histogram = new_histogram(INTERVAL_FIGURES)
    for value in values_ms:
        histogram.record_value(int(value * 1000))
    return histogram


def second(
    index: int, *, due: int = 200, sent: int | None = None, late: int = 0, late_ms: float = 20.0
) -> InstrumentSecond:
    sent = due if sent is None else sent
    return InstrumentSecond(
        index=index,
        due=due,
        sent=sent,
        unsent=due - sent,
        slip=slips(*([1.0] * (sent - late) + [late_ms] * late)),
        loop_lag=slips(0.5, 2.0),
        cpu_percent=40.0 + index,
    )


def tally_of(*seconds: InstrumentSecond) -> InstrumentTally:
    tally = InstrumentTally()
    for one in seconds:
        tally.add(one)
    return tally


def test_a_second_is_behind_on_slip_p99_or_on_sending_under_99_percent() -> None:
    assert not second(0).behind
    assert second(0, late=3).behind  # 1.5% of its requests left 20 ms late
    assert not second(0, late=1).behind  # 0.5%: the p99 is still on time
    assert second(0, sent=197).behind  # 98.5% sent
    assert not second(0, sent=198).behind  # 99%
    assert not InstrumentSecond(index=0).behind  # nothing due, nothing to judge
    assert not is_behind(0, 0, None)
    assert late_count(slips(1.0, 4.9, 5.2, 20.0)) == 2


def test_a_generator_that_kept_up_is_not_saturated() -> None:
    summary = tally_of(*(second(i) for i in range(10))).summary(final=True)
    assert summary.measured and not summary.saturated
    assert (summary.behind_from, summary.behind_seconds) == (None, 0)
    assert (summary.due, summary.sent, summary.unsent) == (2000, 2000, 0)
    assert summary.slip.p99 == pytest.approx(1.0, rel=0.01)
    assert summary.loop_lag.max == pytest.approx(2.0, rel=0.01)
    assert summary.cpu_mean == pytest.approx(44.5) and summary.cpu_max == pytest.approx(49.0)


def test_saturated_by_slip_from_the_first_behind_second() -> None:
    tally = tally_of(*(second(i, late=100 if i >= 5 else 0) for i in range(10)))
    summary = tally.summary(final=True)
    assert summary.saturated and summary.behind_from == 5
    assert summary.behind_seconds == 4  # the last (partial) second is left out at the end
    assert tally.summary(final=False).behind_seconds == 5  # live, every closed second counts


def test_saturated_by_achieved_rate() -> None:
    summary = tally_of(*(second(i, sent=150 if i >= 3 else 200) for i in range(10))).summary(
        final=True
    )
    assert summary.saturated and summary.behind_from == 3
    assert summary.unsent == 7 * 50 and summary.slip.p99 < 5


def test_a_hiccup_is_a_behind_second_but_not_a_saturated_session() -> None:
    summary = tally_of(*(second(i, late=5 if i == 4 else 0) for i in range(10))).summary(final=True)
    assert not summary.saturated and summary.behind_from is None
    assert summary.behind_seconds == 1


def test_the_last_partial_second_is_not_judged_on_its_own() -> None:
    tally = tally_of(*(second(i) for i in range(9)), second(9, due=2, sent=1))
    assert tally.summary(final=True).behind_seconds == 0
    assert not tally.summary(final=True).saturated


def test_one_late_request_is_a_hiccup_not_a_p99() -> None:
    """40 requests, one of them 12 ms late: their 'p99' is that one request, not a trend."""
    tally = tally_of(second(0, due=20, late=1, late_ms=12), second(1, due=20))
    assert tally.summary(final=True).slip.p99 > 5
    assert not tally.summary(final=True).saturated
    assert not second(0, due=20, late=2, late_ms=12).behind
    three = tally_of(second(0, due=20, late=3, late_ms=12), second(1, due=20))
    assert three.summary(final=True).saturated  # three of forty: no longer one hiccup


def test_late_requests_spread_thin_date_the_saturation_from_the_first_one() -> None:
    """Three late requests in three seconds: no second is behind alone, the session is."""
    tally = tally_of(*(second(i, due=20, late=1 if i in (2, 3, 4) else 0) for i in range(7)))
    summary = tally.summary(final=True)
    assert summary.saturated and summary.behind_seconds == 0
    assert summary.behind_from == 2


def test_nothing_measured_is_nothing_judged() -> None:
    summary = InstrumentTally().summary(final=True)
    assert not summary.measured and not summary.saturated


# -- the live view ----------------------------------------------------------------------------


def fed_by_one_worker(clock: FakeClock) -> tuple[MergedHttpMetrics, HttpMetrics]:
    """The engine's figures and the one worker whose closed seconds reach them."""
    merged = MergedHttpMetrics(clock, workers=1, start=0.0)
    worker = HttpMetrics(clock, start=0.0, on_interval=lambda record: merged.closed(0, record))
    return merged, worker


def run_seconds(
    metrics: HttpMetrics, clock: FakeClock, first: int, count: int, *, slip: float
) -> None:
    """``count`` seconds at 100 req/s, every request leaving ``slip`` seconds late."""
    for index in range(first, first + count):
        for slot in range(100):
            intended = index + slot / 100
            clock.now = intended + slip
            metrics.scheduled(intended)
            metrics.left(intended, clock.now)
    clock.now = first + count + 0.01
    metrics.tick()


def test_live_view_says_behind_since_when_and_clears_after_five_good_seconds() -> None:
    clock = FakeClock(0.0)
    metrics, worker = fed_by_one_worker(clock)
    run_seconds(worker, clock, 0, 12, slip=0.001)
    view = metrics.instrument_view()
    assert not view.behind and not view.saturated and not view.inconclusive
    assert view.slip_p99_ms is not None and view.slip_p99_ms < 5
    run_seconds(worker, clock, 12, 20, slip=0.030)
    view = metrics.instrument_view()
    assert view.behind and view.behind_since == 12.0
    assert view.saturated and view.behind_from == 12.0 and view.inconclusive
    assert view.slip_p99_ms is not None and view.slip_p99_ms > 25
    run_seconds(worker, clock, 32, 6, slip=0.001)
    view = metrics.instrument_view()
    assert not view.behind and view.behind_since is None
    assert view.saturated and view.behind_from == 12.0  # the session as the report will see it


def test_live_view_counts_unsent_in_the_open_second_and_clipped_once_it_closed() -> None:
    clock = FakeClock(0.0)
    metrics, worker = fed_by_one_worker(clock)
    worker.unsent(3)
    # answered 130 s after it was due: over the histograms' ceiling, so clipped
    worker.record(RequestResult("x", -129.8, -129.8, 0.2, ok=False, error_kind="timeout"))
    clock.now = 0.5
    for second in worker.live_seconds():
        metrics.live(0, second)
    view = metrics.instrument_view()
    assert (view.unsent, view.clipped) == (3, 0)  # a live second carries no clipped count
    clock.now = 1.5
    worker.tick()
    view = metrics.instrument_view()
    assert (view.unsent, view.clipped) == (3, 1)


# -- the loop monitor -------------------------------------------------------------------------


class Samples:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self.cpu = 0.0
        self.wall = 0.0

    def loop_sample(self, lag: float, cpu_seconds: float, wall_seconds: float) -> None:
        self.lags.append(lag)
        self.cpu += cpu_seconds
        self.wall += wall_seconds


async def test_loop_monitor_sees_a_blocked_loop_and_the_cpu_it_burned() -> None:
    samples = Samples()
    monitor = LoopMonitor(samples, period=0.02)
    began = time.monotonic()
    monitor.start()
    await asyncio.sleep(0.05)
    # Block the loop until it has burned 0.08 s of CPU: on a busy machine 0.08 s of wall
    # time may hold only half that much CPU, so the spin is measured in what it asserts.
    spin_until = time.process_time() + 0.08
    while time.process_time() < spin_until:
        pass
    await asyncio.sleep(0.05)
    await monitor.stop()
    ran = time.monotonic() - began
    count = len(samples.lags)
    assert max(samples.lags) >= 0.05
    assert samples.cpu >= 0.06 and 0.15 <= samples.wall <= ran
    await asyncio.sleep(0.05)
    assert len(samples.lags) == count  # stopped means stopped


async def test_http_load_runs_the_loop_monitor_into_its_metrics(hanging_url: str) -> None:
    records: list[IntervalRecord] = []
    metrics = HttpMetrics(time.monotonic, on_interval=records.append)
    load = HttpLoad(hanging_url, HttpLoadSpec(rate=0), metrics)
    await load.start()
    await asyncio.sleep(0.3)
    await load.stop()
    metrics.flush()
    assert records and records[-1].loop_lag is not None
    assert records[-1].loop_lag.get_total_count() >= 3
    assert records[-1].cpu_percent is not None and records[-1].cpu_percent >= 0


# -- the instrument's own cost ----------------------------------------------------------------


def reference_bars(histogram: HdrHistogram) -> tuple[int, ...]:
    """Every recorded value walked one by one into the first bar whose edge it is under."""
    counts = [0] * (len(BAR_EDGES_MS) + 1)
    for item in histogram.get_recorded_iterator():
        value_ms = item.value_iterated_to / 1000
        index = next((i for i, e in enumerate(BAR_EDGES_MS) if value_ms <= e), len(BAR_EDGES_MS))
        counts[index] += item.count_added_in_this_iter_step
    return tuple(counts)


@pytest.mark.parametrize("figures", [INTERVAL_FIGURES, 3])
def test_bars_read_from_the_counts_array_count_what_walking_the_values_counts(
    figures: int,
) -> None:
    rng = random.Random(figures)
    histogram = new_histogram(figures)
    edges = [int(e * 1000) for e in BAR_EDGES_MS]
    for _ in range(5000):
        value = int(rng.expovariate(1 / rng.choice([300, 4000, 60_000, 3_000_000]))) + 1
        histogram.record_value(min(value, HIGHEST_US))
    for edge in edges:  # right on the edges and just either side of them
        for value in (edge - 1, edge, edge + 1):
            histogram.record_value(value)
    assert bars_of(histogram).counts == reference_bars(histogram)
    assert sum(bars_of(histogram).counts) == histogram.get_total_count()


def test_session_latency_is_read_once_per_closed_second_and_stays_current() -> None:
    clock = FakeClock(0.0)
    metrics, worker = fed_by_one_worker(clock)
    worker.record(RequestResult("x", 0.0, 0.0, 0.010, ok=True))
    clock.now = 1.5
    worker.tick()
    first = metrics.total_latency()
    assert first is metrics.total_latency() and first.count == 1
    worker.record(RequestResult("x", 1.0, 1.0, 1.6, ok=True))
    clock.now = 2.5
    worker.tick()
    assert metrics.total_latency().count == 2 and metrics.total_latency().max > 500
