"""Lag is judged on fresh heads only: an upstream nobody asked lately is not 'behind'."""

from __future__ import annotations

from battletui.gateway import Upstream
from battletui.gateway.pool import HEAD_FRESH_FOR, UpstreamPool
from battletui.protocol.events import GatewayEvent
from battletui.scenario import BreakerSpec


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pool(events: list[GatewayEvent], time: FakeTime) -> UpstreamPool:
    upstreams = [Upstream("alpha", "http://a"), Upstream("beta", "http://b")]
    return UpstreamPool(
        upstreams, BreakerSpec(), clock=time, now=time, lag_blocks=3, on_event=events.append
    )


def test_a_head_that_falls_behind_while_reported_is_lagging() -> None:
    events: list[GatewayEvent] = []
    time = FakeTime()
    upstreams = pool(events, time)
    upstreams.note_head("alpha", 1000)
    upstreams.note_head("beta", 1000)
    time.now += 1
    upstreams.note_head("alpha", 1000)  # still reporting, but stuck
    upstreams.note_head("beta", 1005)
    assert upstreams.lag("alpha") == 5 and upstreams.lagging == {"alpha"}
    assert [(e.kind, e.provider) for e in events] == [("lagging", "alpha")]


def test_a_head_not_reported_lately_is_unknown_not_lagging() -> None:
    events: list[GatewayEvent] = []
    time = FakeTime()
    upstreams = pool(events, time)
    upstreams.note_head("alpha", 1000)
    upstreams.note_head("beta", 1000)
    time.now += HEAD_FRESH_FOR + 1  # alpha was not asked (benched after a 429, say)
    upstreams.note_head("beta", 1009)
    assert upstreams.lag("alpha") is None
    assert upstreams.lagging == frozenset()
    assert events == []
    upstreams.note_head("alpha", 1009)  # asked again: caught up, nothing to report
    assert upstreams.lag("alpha") == 0 and events == []
