"""Measurement: HdrHistograms, counters, the event ring and the frozen ``Snapshot``."""

from battletui.metrics.events import Event, EventLevel, EventLog
from battletui.metrics.failovers import FailoverLog, FailoverSummary
from battletui.metrics.http import (
    HttpMetrics,
    HttpWindow,
    IntervalRecord,
    IntervalSummary,
    LiveSecond,
    RequestResult,
)
from battletui.metrics.instrument import InstrumentSummary, InstrumentTally, InstrumentView
from battletui.metrics.latency import (
    HistogramBars,
    LatencyStats,
    bars_of,
    decode_histogram,
    new_histogram,
    record_seconds,
)
from battletui.metrics.merged import MergedHttpMetrics
from battletui.metrics.snapshot import (
    ProviderHealth,
    ProviderView,
    SessionPhase,
    ShareSource,
    SloStatus,
    Snapshot,
)
from battletui.metrics.ws import WsMetrics, WsView

__all__ = [
    "Event",
    "EventLevel",
    "EventLog",
    "FailoverLog",
    "FailoverSummary",
    "HistogramBars",
    "HttpMetrics",
    "HttpWindow",
    "InstrumentSummary",
    "InstrumentTally",
    "InstrumentView",
    "IntervalRecord",
    "IntervalSummary",
    "LatencyStats",
    "LiveSecond",
    "MergedHttpMetrics",
    "ProviderHealth",
    "ProviderView",
    "RequestResult",
    "SessionPhase",
    "ShareSource",
    "SloStatus",
    "Snapshot",
    "WsMetrics",
    "WsView",
    "bars_of",
    "decode_histogram",
    "new_histogram",
    "record_seconds",
]
