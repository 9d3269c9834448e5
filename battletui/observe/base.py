"""The shape every observer has, the callbacks it reports to, and its one error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from battletui.observe.view import GatewayView
from battletui.protocol.events import BreakerTransition, FailoverEvent, GatewayEvent, WsFeedEvent

__all__ = [
    "CannotSwitch",
    "Observer",
    "ObserverCallbacks",
    "ObserverError",
    "one_line",
    "tell",
]

_log = logging.getLogger(__name__)
_E = TypeVar("_E")


class ObserverError(RuntimeError):
    """An observer could not do what was asked (one line, says which endpoint)."""


class CannotSwitch(ObserverError):
    """What observes this gateway has no way to switch its strategy."""


@dataclass(frozen=True)
class ObserverCallbacks:
    """Where observed events go (the recorder's methods); each is optional.

    They run on the engine's loop in the order the gateway (or the scrape) saw them."""

    on_transition: Callable[[BreakerTransition], None] | None = None
    on_ws_event: Callable[[WsFeedEvent], None] | None = None
    on_failover: Callable[[FailoverEvent], None] | None = None
    on_gateway_event: Callable[[GatewayEvent], None] | None = None


class Observer(Protocol):
    """Learns what only the gateway knows, over the gateway's own sockets.

    ``start`` returns at once (the work runs in tasks on the engine's loop); ``wait_ready``
    raises :class:`ObserverError` when a source does not answer in time; ``stop`` is
    idempotent. ``view`` is cheap: the snapshot builder reads it several times a second."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_ready(self, timeout: float = 5.0) -> None: ...

    @property
    def view(self) -> GatewayView: ...

    @property
    def names(self) -> list[str]:
        """What observes, in words for the report (``["health", "events"]``)."""
        ...

    async def set_strategy(self, name: str) -> str:
        """Switch the gateway's strategy and prove it; a one-line detail of what was seen.
        :class:`ObserverError` (one line) when it refused or cannot be switched at all."""
        ...


def one_line(error: BaseException | str) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def tell(listener: Callable[[_E], None] | None, event: _E) -> None:
    """Hand ``event`` to ``listener``; one that raises is logged and never stops observing."""
    if listener is None:
        return
    try:
        listener(event)
    except Exception:
        _log.exception("observer listener failed")
