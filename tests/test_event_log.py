"""The screen's event log: in time order, runs of the same event collapsed to one line."""

from __future__ import annotations

from battletui.metrics import EventLog


def texts(log: EventLog) -> list[str]:
    return [f"{e.offset:g} {e.text}" for e in log.recent(50)]


def test_a_flapping_health_is_one_line_that_counts() -> None:
    log = EventLog()
    log.add(1.0, "kill alpha ✓", "warn")
    for n in range(12):
        state = "SLOW" if n % 2 == 0 else "UP"
        log.add(10.0 + n, f"gamma {state}", "warn", run="health:gamma")
    assert texts(log) == ["1 kill alpha ✓", "21 gamma UP · 12 changes since 00:10.0"]


def test_a_run_ends_after_a_quiet_spell_or_an_action() -> None:
    log = EventLog()
    log.add(1.0, "alpha DOWN", "error", run="health:alpha")
    log.add(30.0, "alpha UP", "ok", run="health:alpha")  # 29 s later: news of its own
    log.end_run("health:alpha")  # restore alpha
    log.add(31.0, "alpha SLOW", "warn", run="health:alpha")
    assert texts(log) == ["1 alpha DOWN", "30 alpha UP", "31 alpha SLOW"]


def test_events_are_kept_in_the_order_they_happened() -> None:
    log = EventLog(capacity=3)
    log.add(5.0, "alpha DOWN")
    log.add(6.0, "breaker alpha OPEN")
    log.add(4.9, "kill alpha ✓ port refuses")  # issued at 4.9 s, logged once verified
    assert texts(log) == ["4.9 kill alpha ✓ port refuses", "5 alpha DOWN", "6 breaker alpha OPEN"]
    log.add(1.0, "too old for the ring")  # the journal keeps it; the screen has no room
    log.add(5.5, "gamma SLOW")
    assert texts(log) == ["5 alpha DOWN", "5.5 gamma SLOW", "6 breaker alpha OPEN"]
