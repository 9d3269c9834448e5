"""The reference gateway's observer, kept under its old name.

It now lives in :mod:`battletui.engine.observers` (``GatewayObserver`` is the JSON health
observer with the reference gateway's admin layout); this module re-exports it and the view
types for the code and tests that import them from here.
"""

from battletui.engine.observers.base import ObserverError
from battletui.engine.observers.json_health import POLL_INTERVAL, GatewayObserver
from battletui.engine.observers.view import UNKNOWN_UPSTREAM, GatewayView, UpstreamView

GatewayAdminError = ObserverError
"""The gateway's admin endpoint refused a change or did not confirm it (one line)."""

__all__ = [
    "POLL_INTERVAL",
    "UNKNOWN_UPSTREAM",
    "GatewayAdminError",
    "GatewayObserver",
    "GatewayView",
    "UpstreamView",
]
