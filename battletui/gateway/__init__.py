"""The reference gateway: the system under test when no external gateway is given.

Selection strategies, one circuit breaker per provider, failover within a deadline, health
probes, and WebSocket ``newHeads`` subscriptions that survive a provider's death (resubscribe
elsewhere, backfill over HTTP, never a duplicate). It reaches the mock providers only over
HTTP and WebSocket, never through their memory. What it tells its observers is spoken in
:mod:`battletui.protocol` (the events and their ``/events`` format).
"""

from battletui.gateway.app import Gateway
from battletui.gateway.breaker import CircuitBreaker
from battletui.gateway.pool import UpstreamStats
from battletui.gateway.upstream_client import Upstream

__all__ = ["CircuitBreaker", "Gateway", "Upstream", "UpstreamStats"]
