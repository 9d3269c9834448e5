"""The reference gateway: the system under test when no external gateway is given.

Selection strategies, one circuit breaker per provider, failover within a deadline, health
probes, and WebSocket ``newHeads`` subscriptions that survive a provider's death (resubscribe
elsewhere, backfill over HTTP, never a duplicate). It reaches the mock providers only over
HTTP and WebSocket, never through their memory.
"""

from battletui.gateway.app import Gateway
from battletui.gateway.breaker import BreakerState, BreakerTransition, CircuitBreaker
from battletui.gateway.events import FailoverEvent, GatewayEvent
from battletui.gateway.head_feed import WsFeedEvent
from battletui.gateway.pool import UpstreamStats
from battletui.gateway.upstream_client import Upstream

__all__ = [
    "BreakerState",
    "BreakerTransition",
    "CircuitBreaker",
    "FailoverEvent",
    "Gateway",
    "GatewayEvent",
    "Upstream",
    "UpstreamStats",
    "WsFeedEvent",
]
