"""One closed second of HTTP measurements as plain JSON, and back; and many merged into one.

The same shape is journaled (``"type": "interval"`` entries, read back by the report) and sent
by each load worker to the engine, which merges the workers' seconds losslessly: counts are
summed and HdrHistograms added with HdrHistogram's own ``add`` after its own ``encode`` /
``decode`` (base64 of the compressed V2 encoding, readable by the HdrHistogram tools).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from hdrh.histogram import HdrHistogram

from battletui.metrics.http import IntervalRecord
from battletui.metrics.latency import INTERVAL_FIGURES, decode_histogram, new_histogram

__all__ = ["encoded", "merge_records", "record_from_json", "record_to_json"]


def encoded(histogram: HdrHistogram) -> str:
    return str(histogram.encode().decode("ascii"))


def _encoded_or_none(histogram: HdrHistogram | None) -> str | None:
    """An empty histogram (nothing recorded that second) is written as null."""
    if histogram is None or not histogram.get_total_count():
        return None
    return encoded(histogram)


def _decoded(text: object) -> HdrHistogram | None:
    if not isinstance(text, str) or not text:
        return None
    return decode_histogram(text)


def record_to_json(record: IntervalRecord) -> dict[str, Any]:
    return {
        "type": "interval",
        "index": record.index,
        "requests": record.requests,
        "ok": record.ok,
        "errors": record.errors,
        "upstreams": record.upstreams,
        "failovers": record.failovers,
        "failed_over": record.failed_over,
        "corrected": encoded(record.corrected),
        "uncorrected": encoded(record.uncorrected),
        "failover_latency": _encoded_or_none(record.failover_latency),
        "due": record.due,
        "sent": record.sent,
        "unsent": record.unsent,
        "clipped": record.clipped,
        "slip": _encoded_or_none(record.slip),
        "loop_lag": _encoded_or_none(record.loop_lag),
        "cpu_percent": None if record.cpu_percent is None else round(record.cpu_percent, 1),
        "answers": record.answers,
    }


def record_from_json(entry: Mapping[str, Any]) -> IntervalRecord:
    """The inverse of ``record_to_json``; KeyError / ValueError / TypeError when it is not one."""
    cpu = entry.get("cpu_percent")
    return IntervalRecord(
        index=int(entry["index"]),
        requests=int(entry["requests"]),
        ok=int(entry["ok"]),
        errors={str(k): int(v) for k, v in dict(entry.get("errors") or {}).items()},
        upstreams={str(k): int(v) for k, v in dict(entry.get("upstreams") or {}).items()},
        failovers=int(entry.get("failovers", 0)),
        failed_over=int(entry.get("failed_over", 0)),
        corrected=_decoded(entry["corrected"]) or new_histogram(),
        uncorrected=_decoded(entry["uncorrected"]) or new_histogram(),
        failover_latency=_decoded(entry.get("failover_latency")),
        due=int(entry.get("due", 0)),
        sent=int(entry.get("sent", 0)),
        unsent=int(entry.get("unsent", 0)),
        clipped=int(entry.get("clipped", 0)),
        slip=_decoded(entry.get("slip")),
        loop_lag=_decoded(entry.get("loop_lag")),
        cpu_percent=None if cpu is None else float(cpu),
        answers={str(k): int(v) for k, v in dict(entry.get("answers") or {}).items()},
    )


def merge_records(records: Sequence[IntervalRecord]) -> IntervalRecord:
    """The same second measured by several workers, as one: counts summed, histograms added,
    CPU the busiest worker's (each worker is one loop on one core: the one nearest 100 % is
    the one that may fall behind)."""
    if not records:
        raise ValueError("nothing to merge")
    if len(records) == 1:
        return records[0]
    index = records[0].index
    errors: Counter[str] = Counter()
    upstreams: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    corrected, uncorrected = new_histogram(), new_histogram()
    failover: HdrHistogram | None = None
    slip = loop_lag = None
    cpu: float | None = None
    for record in records:
        errors.update(record.errors)
        upstreams.update(record.upstreams)
        answers.update(record.answers)
        corrected.add(record.corrected)
        uncorrected.add(record.uncorrected)
        if record.failover_latency is not None:
            failover = failover or new_histogram()
            failover.add(record.failover_latency)
        if record.slip is not None:
            slip = slip or new_histogram(INTERVAL_FIGURES)
            slip.add(record.slip)
        if record.loop_lag is not None:
            loop_lag = loop_lag or new_histogram(INTERVAL_FIGURES)
            loop_lag.add(record.loop_lag)
        if record.cpu_percent is not None:
            cpu = record.cpu_percent if cpu is None else max(cpu, record.cpu_percent)
    return IntervalRecord(
        index=index,
        requests=sum(r.requests for r in records),
        ok=sum(r.ok for r in records),
        errors=dict(errors),
        upstreams=dict(upstreams),
        failovers=sum(r.failovers for r in records),
        failed_over=sum(r.failed_over for r in records),
        corrected=corrected,
        uncorrected=uncorrected,
        failover_latency=failover,
        due=sum(r.due for r in records),
        sent=sum(r.sent for r in records),
        unsent=sum(r.unsent for r in records),
        clipped=sum(r.clipped for r in records),
        slip=slip,
        loop_lag=loop_lag,
        cpu_percent=cpu,
        answers=dict(answers),
    )
