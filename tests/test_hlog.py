"""latency.hlog round-trips through the hdrhistogram package's own log reader."""

from __future__ import annotations

from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from battletui.metrics.latency import HIGHEST_US, LOWEST_US, TOTAL_FIGURES
from battletui.report import build_result, rebuild, write_hlog

GOLDEN = Path(__file__).parent / "data" / "golden"


def test_hlog_round_trips_through_the_standard_reader(tmp_path: Path) -> None:
    record = rebuild(GOLDEN / "journal.jsonl")
    result = build_result(record)
    path = tmp_path / "latency.hlog"
    write_hlog(record, path)

    reference = HdrHistogram(LOWEST_US, HIGHEST_US, TOTAL_FIGURES)
    reader = HistogramLogReader(str(path), reference)
    intervals = []
    while (histogram := reader.get_next_interval_histogram()) is not None:
        intervals.append(histogram)
    reader.close()

    assert len(intervals) == len(record.interval_histograms) == len(result["series"])
    assert reader.get_start_time_sec() == round(record.running_wall, 3)
    merged = HdrHistogram(LOWEST_US, HIGHEST_US, TOTAL_FIGURES)
    for histogram, summary in zip(intervals, result["series"], strict=True):
        assert histogram.get_total_count() == summary["requests"]
        merged.add(histogram)
    latency = result["http"]["latency_ms"]["corrected"]
    assert merged.get_total_count() == result["http"]["requests"] == latency["count"]
    assert merged.get_value_at_percentile(95) / 1000 == latency["p95"]
    assert merged.get_max_value() / 1000 == latency["max"]
    text = path.read_text()
    assert text.startswith("#[Histogram log format version 1.2]")
    assert (
        '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"' in text
    )


def test_record_seconds_fills_the_same_buckets_as_hdrhistograms_own_record_value() -> None:
    import random

    from battletui.metrics.latency import (
        HIGHEST_US,
        INTERVAL_FIGURES,
        new_histogram,
        record_seconds,
    )

    draw = random.Random(7)
    values = [1, 2, 1023, 1024, 2047, 2048, HIGHEST_US, HIGHEST_US + 5]
    values += [int(10 ** draw.uniform(0, 8.2)) for _ in range(20_000)]
    for figures in (3, INTERVAL_FIGURES):
        ours, theirs = new_histogram(figures), new_histogram(figures)
        for micros in values:
            seconds = micros / 1_000_000
            record_seconds(ours, seconds)
            theirs.record_value(min(max(int(seconds * 1_000_000), 1), HIGHEST_US))
        assert list(ours.counts) == list(theirs.counts)
        assert (ours.total_count, ours.min_value, ours.max_value) == (
            theirs.total_count,
            theirs.min_value,
            theirs.max_value,
        )
        assert ours.get_value_at_percentile(99.9) == theirs.get_value_at_percentile(99.9)


def test_a_dropped_histogram_is_freed_at_once_without_the_cycle_collector() -> None:
    import gc
    import weakref

    from battletui.metrics.latency import decode_histogram, new_histogram, record_seconds

    gc.disable()
    try:
        made = new_histogram()
        record_seconds(made, 0.002)
        decoded = decode_histogram(made.encode().decode("ascii"))
        assert decoded.get_total_count() == 1, "still encodes and decodes"
        decoded.add(made)
        assert decoded.get_total_count() == 2, "still adds"
        refs = [weakref.ref(made), weakref.ref(decoded)]
        del made, decoded
        assert [ref() for ref in refs] == [None, None]
    finally:
        gc.enable()
