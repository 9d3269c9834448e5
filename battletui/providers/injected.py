"""The answers of the ``errors`` fault: what a failing upstream sends, kind by kind.

* ``server-error``: HTTP 503 with a JSON-RPC error ``-32603`` "upstream unavailable
  (injected 503)".
* ``rate-limit``: HTTP 429 with ``Retry-After`` (whole seconds, at least 1) and Infura's
  body: ``-32005`` "project ID request rate exceeded" with ``data`` ``{"see", "current_rps",
  "allowed_rps", "backoff_seconds"}``.
* ``rpc-error``: HTTP 200 with a JSON-RPC error of the caller's code: -32603 "internal
  error", -32000 "header not found", ... (see ``RPC_ERROR_MESSAGES``).

The error object replaces each answer the request would have had: one object for a single
request, one per answered member (with its id) for a batch. A request that would get no
answer at all (only notifications) gets none over WebSocket and with ``rpc-error``; with an
HTTP status to carry the failure it gets one object with a null id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from battletui.protocol.jsonrpc import INTERNAL_ERROR
from battletui.providers.jsonrpc import is_notification, request_id


@dataclass(frozen=True)
class ErrorFault:
    """The ``errors`` fault: which share of JSON-RPC requests fail, and how.

    ``kind`` is one of ``scenario.ERROR_KINDS``; ``code`` is the JSON-RPC code of the error
    objects sent (-32603 for ``server-error``, -32005 for ``rate-limit``, the caller's code
    for ``rpc-error``); ``retry_after`` is the ``rate-limit`` back-off in seconds.
    """

    rate: float
    kind: str
    code: int
    retry_after: float


SERVER_ERROR_STATUS: Final = 503
SERVER_ERROR_MESSAGE: Final = "upstream unavailable (injected 503)"

RATE_LIMIT_STATUS: Final = 429
RATE_LIMIT_CODE: Final = -32005
RATE_LIMIT_MESSAGE: Final = "project ID request rate exceeded"
RATE_LIMIT_SEE: Final = "https://infura.io/dashboard"

RPC_ERROR_MESSAGES: Final = {
    INTERNAL_ERROR: "internal error",
    -32000: "header not found",
    -32001: "resource not found",
    -32002: "resource unavailable",
    -32003: "transaction rejected",
    -32004: "method not supported",
    -32005: "limit exceeded",
}
"""Messages of ``rpc-error`` codes (geth's and EIP-1474's wording); any other code in
-32099..-32000 gets "server error"."""

BASELINE_ERROR_MESSAGE: Final = "internal error (injected by battletui)"
"""Message of the -32603 error a request drawn by the spec's baseline ``error_rate`` gets
(HTTP 500 over HTTP; over WebSocket the same error objects, per ``failed_answer``)."""

UNPARSEABLE: Final = object()
"""Stands for a body that is not JSON (its error answer has a null id)."""


def check_code(code: int) -> None:
    """Raise ``ValueError`` unless ``code`` is -32603 or a server error (-32099..-32000)."""
    if code != INTERNAL_ERROR and not -32099 <= code <= -32000:
        raise ValueError(f"rpc-error code must be -32603 or -32099..-32000, got {code}")


def fault_code(kind: str, code: int) -> int:
    """The JSON-RPC code an ``errors`` fault of ``kind`` sends."""
    if kind == "rate-limit":
        return RATE_LIMIT_CODE
    if kind == "server-error":
        return INTERNAL_ERROR
    return code


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` in whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


def error_object(fault: ErrorFault, current_rps: float) -> dict[str, object]:
    """The ``error`` member of each failed answer."""
    if fault.kind == "rate-limit":
        allowed = current_rps * (1.0 - fault.rate)
        return {
            "code": RATE_LIMIT_CODE,
            "message": RATE_LIMIT_MESSAGE,
            "data": {
                "see": RATE_LIMIT_SEE,
                "current_rps": round(current_rps, 3),
                "allowed_rps": round(allowed, 3),
                "backoff_seconds": float(fault.retry_after),
            },
        }
    if fault.kind == "server-error":
        return {"code": INTERNAL_ERROR, "message": SERVER_ERROR_MESSAGE}
    return {"code": fault.code, "message": RPC_ERROR_MESSAGES.get(fault.code, "server error")}


def baseline_error() -> dict[str, object]:
    """The ``error`` member of each answer failed by the spec's baseline ``error_rate``."""
    return {"code": INTERNAL_ERROR, "message": BASELINE_ERROR_MESSAGE}


def failed_answer(payload: object, error: dict[str, object]) -> object | None:
    """The body answering ``payload`` (a decoded body, or ``UNPARSEABLE``) with ``error``;
    None when the request would get no answer (only notifications)."""

    def one(rid: object) -> dict[str, object]:
        return {"jsonrpc": "2.0", "id": rid, "error": error}

    if payload is UNPARSEABLE:
        return one(None)
    if isinstance(payload, list):
        if not payload:
            return one(None)
        answers = [one(request_id(m)) for m in payload if not is_notification(m)]
        return answers or None
    return None if is_notification(payload) else one(request_id(payload))
