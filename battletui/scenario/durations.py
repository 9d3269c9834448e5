"""Durations as people write them in scenario files ("250ms", "1.5s", "2m", "+100ms").

Kept as float seconds inside the program; formatted back to the shortest readable form so a
recorded scenario reads like a hand-written one.
"""

from __future__ import annotations

import math
import re

_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h)")


MAX_SECONDS = 86_400.0
"""The longest duration a scenario may write (24 h): a session, a timeout, a latency."""


class DurationError(ValueError):
    """A duration that cannot be read; the message says what was expected."""


def parse_duration(value: object, *, allow_sign: bool = False) -> tuple[float, bool]:
    """Parse ``value`` to (seconds, relative).

    ``relative`` is True when the text starts with "+" (only allowed with ``allow_sign``):
    it means "add to the current value" (e.g. ``degrade ... latency: +100ms``).
    Bare numbers are seconds. Negative durations are refused.
    """
    if isinstance(value, bool):
        raise DurationError(f"expected a duration like '250ms' or '10s', got {value!r}")
    if isinstance(value, int | float):
        if (isinstance(value, float) and math.isnan(value)) or value < 0:
            raise DurationError(f"duration must be zero or more, got {_short(value)}")
        if value > MAX_SECONDS:
            raise DurationError(f"at most 24h, got {_short(value)}")
        return float(value), False
    if not isinstance(value, str):
        raise DurationError(f"expected a duration like '250ms' or '10s', got {value!r}")
    text = value.strip()
    relative = False
    if text.startswith("+"):
        if not allow_sign:
            raise DurationError(f"a '+' step is not allowed here: {value!r}")
        relative = True
        text = text[1:].strip()
    if text.startswith("-"):
        raise DurationError(f"duration must be zero or more, got {value!r}")
    try:
        seconds = float(text)
    except ValueError:
        seconds = _parse_units(text, value)
    if math.isnan(seconds) or seconds < 0:
        raise DurationError(f"duration must be zero or more, got {_short(value)}")
    if seconds > MAX_SECONDS:
        raise DurationError(f"at most 24h, got {_short(value)}")
    return seconds, relative


def _short(value: object) -> str:
    """A value as the message shows it: a 400-digit number is not shown whole."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


def _parse_units(text: str, original: str) -> float:
    pos = 0
    total = 0.0
    compact = text.replace(" ", "")
    if not compact:
        raise DurationError(f"expected a duration like '250ms' or '10s', got {original!r}")
    seen: list[float] = []
    while pos < len(compact):
        match = _PART.match(compact, pos)
        if match is None:
            raise DurationError(
                f"expected a duration like '250ms' or '10s', got {_short(original)}"
            )
        unit = _UNITS[match.group(2)]
        if seen and unit >= seen[-1]:
            raise DurationError(
                f"each unit once, largest first (like 1h30m), got {_short(original)}"
            )
        seen.append(unit)
        total += float(match.group(1)) * unit
        pos = match.end()
    return total


def format_duration(value: float, *, relative: bool = False) -> str:
    """Shortest exact-to-the-millisecond text for ``value`` seconds ("250ms", "10s", "12.345s")."""
    sign = "+" if relative else ""
    millis = round(value * 1000)
    if millis < 1000 and millis != 0:
        return f"{sign}{millis}ms"
    if millis % 1000 == 0:
        return f"{sign}{millis // 1000}s"
    text = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{sign}{text}s"


def clock(seconds: float) -> str:
    """Elapsed time on a session clock, to the second: ``01:05``."""
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def clock_tenths(seconds: float) -> str:
    """An offset to the tenth of a second: ``01:05.3`` (59.97 s reads ``01:00.0``)."""
    minutes, tenths = divmod(round(seconds * 10), 600)
    return f"{minutes:02d}:{tenths // 10:02d}.{tenths % 10}"
