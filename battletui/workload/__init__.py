"""Load generators: they talk to the system under test only over sockets."""

from battletui.workload.http_load import FAILOVERS_HEADER, UPSTREAM_HEADER, HttpLoad
from battletui.workload.stream_check import HeadKind, HeadVerdict, StreamChecker
from battletui.workload.ws_load import WsLoad

__all__ = [
    "FAILOVERS_HEADER",
    "UPSTREAM_HEADER",
    "HeadKind",
    "HeadVerdict",
    "HttpLoad",
    "StreamChecker",
    "WsLoad",
]
