"""The screen's panels; each draws one part of a ``Snapshot``."""

from battletui.ui.widgets.events import EventsPanel
from battletui.ui.widgets.latency import LatencyPanel
from battletui.ui.widgets.providers import ProvidersPanel
from battletui.ui.widgets.status import StatusBar
from battletui.ui.widgets.trends import TrendsPanel
from battletui.ui.widgets.websocket import WebSocketPanel

__all__ = [
    "EventsPanel",
    "LatencyPanel",
    "ProvidersPanel",
    "StatusBar",
    "TrendsPanel",
    "WebSocketPanel",
]
