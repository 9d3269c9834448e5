"""Small text helpers shared by the widgets (colours, clocks, bars)."""

from __future__ import annotations

from battletui.scenario import clock, clock_tenths

__all__ = ["clock", "clock_tenths", "ms", "share_bar"]

HEALTH_STYLE = {
    "UP": "bold green",
    "DOWN": "bold red",
    "SLOW": "bold yellow",
    "HUNG": "bold magenta",
    "UNKNOWN": "dim",
}
BREAKER_STYLE = {"CLOSED": "green", "OPEN": "bold red", "HALF-OPEN": "bold yellow"}
LEVEL_STYLE = {"info": "", "ok": "green", "warn": "yellow", "error": "red"}


def share_bar(share: float, width: int = 10) -> str:
    filled = round(share * width)
    return "█" * filled + "·" * (width - filled)


def ms(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.1f}s"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"
