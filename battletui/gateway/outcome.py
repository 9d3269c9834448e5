"""Judging one upstream attempt: answer to relay, provider failure, or rate limit.

Pure functions over status and body, so the rules the breaker lives by can be read
(and tested) in one place without sockets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final

from battletui.gateway.jsonrpc import is_provider_error
from battletui.wire import loads as fast_loads

__all__ = [
    "DEFAULT_RETRY_AFTER",
    "MAX_RETRY_AFTER",
    "Attempt",
    "Verdict",
    "judge_response",
    "parse_retry_after",
]

MAX_RETRY_AFTER: Final = 60.0
"""A provider cannot bench itself for longer than this with one Retry-After."""
DEFAULT_RETRY_AFTER: Final = 1.0
"""Bench time for an HTTP 429 without a usable Retry-After."""


class Verdict(StrEnum):
    ANSWER = "answer"
    """Relay to the client; a success for the breaker (JSON-RPC client errors included)."""
    FAILURE = "failure"
    """The provider's fault: counts against its breaker; try the next provider."""
    RATE_LIMITED = "rate-limited"
    """Not a fault (the provider is fine, we are too many): try the next provider."""


@dataclass(frozen=True)
class Attempt:
    """What one request to one upstream came to."""

    verdict: Verdict
    status: int
    """HTTP status, 0 when no response arrived."""
    body: bytes
    reason: str
    """Short cause for failures and rate limits, e.g. ``connection refused``; empty otherwise."""
    latency: float
    """Seconds from send to the end of the body (or to the error)."""
    retry_after: float | None = None
    answer: Any = field(default=None, compare=False, repr=False)
    """The body as parsed while judging it (None when it was not JSON, or not read)."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def judge_response(
    status: int, body: bytes, *, batch: bool, expects_reply: bool
) -> tuple[Verdict, str, Any]:
    """Verdict, reason and the parsed body (None when not JSON) for an upstream's response.

    * HTTP 429 (whatever the body, e.g. an Infura-style -32005): rate-limited, not a failure;
    * HTTP >= 500, 1xx/3xx, a non-JSON or (when a reply is due) empty body: failure;
    * a JSON-RPC error in the server range (-32603, -32000..-32099): failure;
    * anything else, JSON-RPC client errors (-32700, -32600..-32602) included: the answer,
      relayed to the client as is and a success for the breaker.

    A batch is judged by HTTP status and body shape only: one failed member does not make the
    provider unhealthy, and the client gets every member's answer.
    """
    if status == 429:
        return Verdict.RATE_LIMITED, "rate-limited (HTTP 429)", None
    if status >= 500:
        return Verdict.FAILURE, f"HTTP {status}", None
    if status < 200 or 300 <= status < 400:
        return Verdict.FAILURE, f"HTTP {status}", None
    if not body.strip():
        if status < 300 and not expects_reply:
            return Verdict.ANSWER, "", None
        return Verdict.FAILURE, f"empty body (HTTP {status})", None
    try:
        answer = fast_loads(body)
    except (ValueError, RecursionError):
        return Verdict.FAILURE, f"non-JSON body (HTTP {status})", None
    if status >= 400 and not isinstance(answer, dict | list):
        return Verdict.FAILURE, f"HTTP {status}", answer
    if batch or not isinstance(answer, dict):
        return Verdict.ANSWER, "", answer
    error = answer.get("error")
    if isinstance(error, dict) and is_provider_error(error.get("code"), error.get("message")):
        return Verdict.FAILURE, f"JSON-RPC error {error['code']}", answer
    if status >= 400 and "jsonrpc" not in answer:
        return Verdict.FAILURE, f"HTTP {status}", answer
    return Verdict.ANSWER, "", answer
