"""Handing the gateway's events (:mod:`battletui.protocol.events`) to plain callbacks, so a
broken listener never disturbs routing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

__all__ = ["also", "notify"]

_log = logging.getLogger(__name__)

_E = TypeVar("_E")


def notify(listener: Callable[[_E], None] | None, event: _E) -> None:
    """Hand ``event`` to ``listener``; a broken listener never disturbs routing."""
    if listener is None:
        return
    try:
        listener(event)
    except Exception:
        _log.exception("gateway event listener failed")


def also(first: Callable[[_E], None], second: Callable[[_E], None] | None) -> Callable[[_E], None]:
    """One listener that hands each event to ``first``, then to ``second`` (if any); neither
    can keep the event from the other."""
    if second is None:
        return first

    def both(event: _E) -> None:
        notify(first, event)
        notify(second, event)

    return both
