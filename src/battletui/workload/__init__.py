"""Load generators: they talk to the system under test only over sockets."""

from battletui.workload.http_load import FAILOVERS_HEADER, UPSTREAM_HEADER, HttpLoad

__all__ = ["FAILOVERS_HEADER", "UPSTREAM_HEADER", "HttpLoad"]
