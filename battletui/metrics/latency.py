"""Latency histograms: HdrHistogram in microseconds, fixed size whatever the session length."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 120_000_000
"""Two minutes: anything slower is recorded at the ceiling and counted as clipped."""
TOTAL_FIGURES = 3
"""Significant figures for whole-session histograms (the report's numbers)."""
INTERVAL_FIGURES = 2
"""Significant figures for per-second histograms (live view; kept small, many of them)."""

PERCENTILES = (50.0, 95.0, 99.0, 99.9)


def new_histogram(figures: int = TOTAL_FIGURES) -> HdrHistogram:
    return acyclic(HdrHistogram(LOWEST_US, HIGHEST_US, figures))


def decode_histogram(encoded: str | bytes) -> HdrHistogram:
    """HdrHistogram's own ``decode`` (base64 of its compressed V2 encoding), made acyclic."""
    raw = encoded.encode("ascii") if isinstance(encoded, str) else encoded
    return acyclic(HdrHistogram.decode(raw))


def acyclic(histogram: HdrHistogram) -> HdrHistogram:
    """Break the reference cycle between a histogram and its encoder (the encoder keeps the
    histogram, the histogram its encoder), so a dropped histogram is freed at once.

    With the cycle every histogram waited for the cyclic garbage collector; the seconds'
    histograms (several per second, 10-70 KiB each) survived into its oldest generation and
    a 20-minute session's memory grew by tens of MiB before a full collection."""
    histogram.encoder.histogram = weakref.proxy(histogram)
    return histogram


def record_seconds(histogram: HdrHistogram, seconds: float) -> bool:
    """Record a latency given in seconds, clamped into the trackable range.

    Returns True when the value was above the ceiling, so the caller can count it as
    clipped: a capped figure must never pass for a measured one.

    Runs three times per request: HdrHistogram's own ``record_value`` index arithmetic is
    inlined here with ``int.bit_length`` for its ``64 - clz`` (same buckets, same counts;
    ``tests/test_hlog.py`` checks them against ``record_value``), at half the cost."""
    micros = int(seconds * 1_000_000)
    clipped = micros > HIGHEST_US
    value = HIGHEST_US if clipped else (micros if micros > LOWEST_US else LOWEST_US)
    unit = histogram.unit_magnitude
    half = histogram.sub_bucket_half_count_magnitude
    bucket = (value | histogram.sub_bucket_mask).bit_length() - unit - half - 1
    index = ((bucket + 1) << half) + (value >> (bucket + unit)) - histogram.sub_bucket_half_count
    histogram.counts[index] += 1
    histogram.total_count += 1
    if value < histogram.min_value:
        histogram.min_value = value
    if value > histogram.max_value:
        histogram.max_value = value
    return clipped


@dataclass(frozen=True)
class LatencyStats:
    """Percentiles of one histogram, in milliseconds. ``count`` 0 means no data (all zeros)."""

    count: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    p999: float = 0.0
    max: float = 0.0

    @classmethod
    def of(cls, histogram: HdrHistogram) -> LatencyStats:
        count = int(histogram.get_total_count())
        if count == 0:
            return cls()
        values = histogram.get_percentile_to_value_dict(list(PERCENTILES))
        return cls(
            count=count,
            p50=values[50.0] / 1000,
            p95=values[95.0] / 1000,
            p99=values[99.0] / 1000,
            p999=values[99.9] / 1000,
            max=histogram.get_max_value() / 1000,
        )


@dataclass(frozen=True)
class HistogramBars:
    """A latency histogram folded into a few log-spaced bars for drawing.

    ``edges_ms[i]`` is the upper edge of bar ``i``; the last bar holds everything above.
    """

    edges_ms: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()


BAR_EDGES_MS: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1000,
    2000,
    5000,
)


def bars_of(histogram: HdrHistogram, edges_ms: tuple[float, ...] = BAR_EDGES_MS) -> HistogramBars:
    """Count the recorded values falling under each edge (plus one overflow bar).

    Sums slices of the counts array: walking a histogram's recorded values in Python took
    tens of milliseconds on the engine's loop, several times a second, and delayed the load."""
    counts = [0] * (len(edges_ms) + 1)
    total = int(histogram.get_total_count())
    if total:
        raw = histogram.counts
        start = 0
        for i, edge in enumerate(edges_ms):
            end = _last_index_under(histogram, int(edge * 1000)) + 1
            if end > start:
                counts[i] = int(sum(raw[start:end]))
                start = end
        counts[-1] = total - sum(counts)
    return HistogramBars(edges_ms=edges_ms, counts=tuple(counts))


def _last_index_under(histogram: HdrHistogram, value_us: int) -> int:
    """Index of the last bucket whose values all lie at or under ``value_us``."""
    index = int(histogram.get_counts_array_index(value_us))
    if histogram.get_highest_equivalent_value(value_us) > value_us:
        index -= 1  # ``value_us`` falls inside its bucket: that bucket goes above the edge
    return index
