"""The event log shown on screen: a ring buffer, so an hour-long session stays small."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

EventLevel = Literal["info", "ok", "warn", "error"]


@dataclass(frozen=True)
class Event:
    """Something that happened, ``offset`` seconds after the session started."""

    offset: float
    text: str
    level: EventLevel = "info"


class EventLog:
    """Keeps the most recent events; older ones live on in the journal only."""

    def __init__(self, capacity: int = 200) -> None:
        self._events: deque[Event] = deque(maxlen=capacity)

    def add(self, offset: float, text: str, level: EventLevel = "info") -> Event:
        event = Event(offset=offset, text=text, level=level)
        self._events.append(event)
        return event

    def extend(self, events: Iterable[Event]) -> None:
        self._events.extend(events)

    def recent(self, count: int = 50) -> tuple[Event, ...]:
        if count <= 0:
            return ()
        return tuple(self._events)[-count:]
