"""The JSON-RPC 2.0 knowledge the gateway needs: which errors are the provider's fault, and
how to answer a client when the gateway itself has to (the codes every process shares are in
:mod:`battletui.protocol.jsonrpc`)."""

from __future__ import annotations

import json
from typing import Any, Final

from battletui.protocol.jsonrpc import INTERNAL_ERROR, PARSE_ERROR, parse_quantity

__all__ = [
    "BLOCK_NUMBER",
    "NO_UPSTREAM",
    "PARSE_ERROR_REPLY",
    "error_object",
    "error_reply",
    "expects_reply",
    "head_from",
    "is_batch",
    "is_provider_error",
]

BLOCK_NUMBER: Final = "eth_blockNumber"
"""The method whose answers (client traffic and health probes alike) name a provider's head."""
NO_UPSTREAM: Final = -32050
"""Gateway error: every provider failed or none was available (inside the server range)."""

_SERVER_RANGE: Final = range(-32099, -32000 + 1)


DETERMINISTIC_ERRORS: Final = (
    "execution reverted",
    "nonce too low",
    "nonce too high",
    "insufficient funds",
    "intrinsic gas too low",
    "already known",
    "replacement transaction underpriced",
    "invalid chain id",
    "only replay-protected",
    "max fee per gas less than block base fee",
    "max priority fee per gas higher than max fee per gas",
    "gas required exceeds allowance",
    "exceeds block gas limit",
    "contract creation is not supported",
    "invalid transaction",
    "invalid sender",
    "filter not found",
    "invalid block range params",
)
"""Messages of -32000 errors that are the request's own outcome (a revert, a nonce the
sender got wrong, a filter this upstream never had): every upstream would answer the same,
so they are relayed, not held against the provider, as eRPC and Lasso classify them."""


def is_provider_error(code: object, message: object = None) -> bool:
    """True for codes that blame the provider (internal or server errors), not the request:
    a server-range error whose message says the request itself failed does not."""
    if not isinstance(code, int) or not (code == INTERNAL_ERROR or code in _SERVER_RANGE):
        return False
    return not (isinstance(message, str) and message.lower().startswith(DETERMINISTIC_ERRORS))


def is_batch(request: Any) -> bool:
    return isinstance(request, list)


def _is_notification(item: Any) -> bool:
    return isinstance(item, dict) and "method" in item and "id" not in item


def expects_reply(request: Any) -> bool:
    """Whether the spec requires a response body (notifications get none)."""
    if isinstance(request, list):
        return not request or not all(_is_notification(item) for item in request)
    return not _is_notification(request)


def _id(item: Any) -> Any:
    """The request's id if it is a legal one (string, number or null), else null."""
    value = item.get("id") if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return value


def error_object(request_id: Any, code: int, message: str) -> dict[str, Any]:
    """One JSON-RPC error response object."""
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def error_reply(request: Any, code: int, message: str) -> bytes:
    """An error answer shaped like the request: one object, or one per batch member."""
    if isinstance(request, list):
        ids = [_id(item) for item in request if not _is_notification(item)]
        if ids:
            return json.dumps([error_object(i, code, message) for i in ids]).encode()
        return json.dumps(error_object(None, code, message)).encode()
    return json.dumps(error_object(_id(request), code, message)).encode()


PARSE_ERROR_REPLY: Final = error_reply(None, PARSE_ERROR, "Parse error")
"""The answer to a body that is not JSON at all."""


def head_from(answer: Any) -> int | None:
    """The block number a parsed ``eth_blockNumber`` answer names (``{"result": "0x..."}``)."""
    return parse_quantity(answer.get("result")) if isinstance(answer, dict) else None
