"""Recording what the lab reports: into the journal (everything) and the event log (the
screen's short version).

Breaker transitions, health changes, the gateway's own notes, the WebSocket feed's switches,
subscribers' anomalies, failovers and the per-second measurement checkpoints all pass here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from battletui.engine.journal import Journal
from battletui.engine.lab_client import Received
from battletui.engine.probes import ProbeResult
from battletui.metrics import (
    Event,
    EventLevel,
    EventLog,
    FailoverLog,
    IntervalRecord,
    ProviderHealth,
    WsView,
)
from battletui.metrics.interval_codec import record_to_json
from battletui.protocol.events import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent
from battletui.workload import HeadVerdict

GATEWAY_NOTE_QUIET = 10.0
"""Seconds before the same repetitive gateway note (kind, provider) is shown again."""
QUIETED_NOTES = frozenset({"rate-limited"})
SAME_SWITCH = 10.0
"""Seconds within which the gateway's note of a strategy switch is the one an action made."""
"""Notes that repeat every time a Retry-After runs out; others are always shown."""


class SessionRecorder:
    def __init__(
        self,
        *,
        elapsed: Callable[[], float],
        offset_of: Callable[[float], float],
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self._elapsed = elapsed
        self._offset_of = offset_of
        self._on_event = on_event
        self.journal: Journal | None = None
        self.events = EventLog()
        self.failover_log = FailoverLog()
        self._last_gateway_note: dict[tuple[str, str | None], float] = {}
        self._switched: dict[str, float] = {}
        """Strategy name -> when an action of ours switched to it: the gateway's own note of
        that switch would say it twice."""
        self._ws_anomaly_events = 0

    def on_interval(self, record: IntervalRecord) -> None:
        """One second of HTTP measurements, complete: totals are the sum of these entries.

        With the generator's own figures (due, sent, unsent, slip, loop lag, CPU, clipped), so
        the report can tell whether it measured the gateway or the generator's own stalls."""
        if self.journal is None:
            return
        self.journal.write(record_to_json(record))

    def checkpoint_ws(self, view: WsView | None) -> None:
        """The WebSocket counters so far (cumulative: the last entry is the state)."""
        if view is None or self.journal is None:
            return
        self.journal.write(
            {
                "type": "ws",
                "offset": round(self._elapsed(), 3),
                "subscribers": view.subscribers,
                "connected": view.connected,
                "head": view.head,
                "heads": view.heads,
                "gaps": view.gaps,
                "missing_blocks": view.missing_blocks,
                "duplicates": view.duplicates,
                "reorgs": view.reorgs,
                "broken_links": view.broken_links,
                "max_stall_ms": round(view.max_stall_ms, 3),
                "reconnects": view.reconnects,
                "checked": view.checked,
                "stale": view.stale,
                "wrong": view.wrong,
            }
        )

    def on_received(self, offset: float, counts: Mapping[str, Received]) -> None:
        """What each provider received so far, as the lab counted it (cumulative: the report
        takes per-second traffic from consecutive entries, the total from the last)."""
        if self.journal is None:
            return
        self.journal.write(
            {
                "type": "received",
                "offset": round(offset, 3),
                "providers": {pid: received.to_json() for pid, received in counts.items()},
            }
        )

    def on_transition(self, transition: BreakerTransition) -> None:
        offset = self._offset_of(transition.at)
        entry = {
            "offset": round(offset, 3),
            "from": str(transition.old),
            "to": str(transition.new),
            "reason": transition.reason,
        }
        if self.journal is not None:
            self.journal.write({"type": "breaker", "provider": transition.provider, **entry})
        level: EventLevel = (
            "error"
            if str(transition.new) == "OPEN"
            else ("ok" if str(transition.new) == "CLOSED" else "warn")
        )
        self.event(
            offset,
            f"breaker {transition.provider} {transition.new} · {transition.reason}",
            level,
        )

    def on_failover(self, event: FailoverEvent) -> None:
        self.failover_log.record(event.failed, event.cost)

    def report_failovers(self) -> None:
        """One event-log line per second for the failovers of that second."""
        summary = self.failover_log.take_period()
        if summary is None:
            return
        offset = self._elapsed()
        text = (
            f"{summary.count} failover{'s' if summary.count != 1 else ''} away from"
            f" {_counted(summary.away_from)} ({_counted(summary.reasons)})"
            f" · cost p95 {summary.cost.p95:.0f}ms"
        )
        if self.journal is not None:
            self.journal.write(
                {
                    "type": "failovers",
                    "offset": round(offset, 3),
                    "count": summary.count,
                    "away_from": summary.away_from,
                    "reasons": summary.reasons,
                    "cost_p95_ms": round(summary.cost.p95, 3),
                    "cost": summary.cost_histogram,
                }
            )
        self.event(offset, text, "warn", run="failovers", unit="seconds with failovers")

    def _note(self, entry_type: str, event: GatewayEvent | WsFeedEvent) -> float:
        """Journal a note from the gateway (its own, or its WebSocket feed's); the report
        reads them back from the journal. Returns its offset."""
        offset = self._offset_of(event.at)
        entry = {
            "offset": round(offset, 3),
            "kind": event.kind,
            "provider": event.provider,
            "detail": event.detail,
        }
        if self.journal is not None:
            self.journal.write({"type": entry_type, **entry})
        return offset

    def on_gateway_event(self, event: GatewayEvent) -> None:
        offset = self._note("gateway", event)
        level: EventLevel = {"lagging": "warn", "rate-limited": "warn", "caught-up": "ok"}.get(
            event.kind, "info"
        )  # type: ignore[assignment]
        key = (event.kind, event.provider)
        last = self._last_gateway_note.get(key)
        if event.kind in QUIETED_NOTES and last is not None and offset - last < GATEWAY_NOTE_QUIET:
            return  # the same note again so soon: the journal has it, the screen need not
        self._last_gateway_note[key] = offset
        if event.kind == "strategy":
            new = event.detail.rpartition("→")[2].strip()
            switched = self._switched.get(new)
            if switched is not None and abs(offset - switched) < SAME_SWITCH:
                return  # the action's own line says it
        who = f"{event.provider} " if event.provider else ""
        self.event(offset, f"gateway: {who}{event.kind} · {event.detail}", level)

    def switched_strategy(self, name: str, offset: float) -> None:
        """An action of ours switched the gateway to ``name``: one line says so, not two."""
        self._switched[name] = offset
        self.events.discard("gateway: strategy · ", f" → {name}", after=offset)

    def on_ws_event(self, event: WsFeedEvent) -> None:
        offset = self._note("ws_feed", event)
        level: EventLevel = {
            "switch": "warn",
            "resubscribed": "warn",
            "gap": "error",
            "stalled": "error",
        }.get(event.kind, "info")  # type: ignore[assignment]
        self.event(offset, f"ws feed {event.kind}: {event.detail}", level)

    def on_ws_anomaly(self, subscriber: int, verdict: HeadVerdict) -> None:
        offset = self._elapsed()
        if self.journal is not None:
            self.journal.write(
                {
                    "type": "ws_anomaly",
                    "offset": round(offset, 3),
                    "subscriber": subscriber,
                    "kind": verdict.kind,
                    "number": verdict.number,
                    "missing": verdict.missing,
                }
            )
        if verdict.kind == "reorg":  # expected chain behaviour: say it once, not per subscriber
            if subscriber == 0:
                self.event(offset, f"ws subscribers see a reorg at #{verdict.number}", "warn")
            return
        self._ws_anomaly_events += 1
        if self._ws_anomaly_events <= 50:  # the journal keeps all; the screen a sample
            what = f"gap of {verdict.missing}" if verdict.kind == "gap" else verdict.kind
            self.event(
                offset, f"ws subscriber {subscriber + 1}: {what} at #{verdict.number}", "error"
            )

    def on_health(
        self, provider: str, old: ProviderHealth, new: ProviderHealth, probe: ProbeResult
    ) -> None:
        offset = self._elapsed()
        entry = {"offset": round(offset, 3), "from": old, "to": new, "detail": probe.detail}
        if self.journal is not None:
            self.journal.write({"type": "health", "provider": provider, **entry})
        if old == "UNKNOWN" and new == "UP":
            return
        level: EventLevel = {"DOWN": "error", "HUNG": "error", "SLOW": "warn", "UP": "ok"}.get(
            new, "info"
        )  # type: ignore[assignment]
        rtt = f" ({probe.rtt * 1000:.0f}ms)" if probe.outcome == "ok" else ""
        self.event(offset, f"{provider} {new}{rtt}", level, run=f"health:{provider}")

    def event(
        self,
        offset: float,
        text: str,
        level: EventLevel,
        *,
        run: str | None = None,
        unit: str = "changes",
    ) -> None:
        event = self.events.add(offset, text, level, run=run, unit=unit)
        if self._on_event is not None:
            self._on_event(event)

    # -- reading ---------------------------------------------------------------------------


def _counted(counts: dict[str, int]) -> str:
    """{'alpha': 30, 'beta': 7} -> 'alpha 30, beta 7'; a single entry needs no number."""
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
