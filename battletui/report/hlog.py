"""``latency.hlog``: the session's corrected latency as an HdrHistogram interval log.

One interval per second, values in microseconds, readable by the standard HdrHistogram log
tools (HistogramLogProcessor, HdrHistogramVisualizer, the hdrhistogram package's reader).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from hdrh.log import HistogramLogWriter

from battletui.metrics import decode_histogram
from battletui.report.record import SessionRecord

HLOG_NAME = "latency.hlog"
MAX_VALUE_UNIT_RATIO = 1000.0
"""Interval_Max column in milliseconds (values are recorded in microseconds)."""


def write_hlog(record: SessionRecord, path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        _write(record, handle)


def _write(record: SessionRecord, handle: TextIO) -> None:
    writer = HistogramLogWriter(handle)
    writer.output_log_format_version()
    writer.output_comment(
        f"[battletui {record.scenario.name}: latency from each request's intended send time"
        " (coordinated-omission corrected), microseconds]"
    )
    start = record.running_wall
    if start:
        # Written by hand: hdrh's own output_start_time() calls a method datetime lacks.
        stamp = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(start))
        handle.write(f"#[StartTime: {start:.3f} (seconds since epoch), {stamp}]\n")
    writer.output_legend()
    for index, encoded in record.interval_histograms:
        histogram = decode_histogram(encoded)
        writer.output_interval_histogram(
            histogram,
            start_time_stamp_sec=float(index),
            end_time_stamp_sec=float(index + 1),
            max_value_unit_ratio=MAX_VALUE_UNIT_RATIO,
        )
