"""The JSON-RPC 2.0 knowledge the gateway needs: which errors are the provider's fault, and
how to answer a client when the gateway itself has to."""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = [
    "NO_UPSTREAM",
    "PARSE_ERROR",
    "error_reply",
    "expects_reply",
    "head_from",
    "is_batch",
    "is_provider_error",
]

PARSE_ERROR: Final = -32700
INTERNAL_ERROR: Final = -32603
NO_UPSTREAM: Final = -32050
"""Gateway error: every provider failed or none was available (inside the server range)."""

_SERVER_RANGE: Final = range(-32099, -32000 + 1)


def is_provider_error(code: object) -> bool:
    """True for codes that blame the provider (internal or server errors), not the request."""
    return isinstance(code, int) and (code == INTERNAL_ERROR or code in _SERVER_RANGE)


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


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def error_reply(request: Any, code: int, message: str) -> bytes:
    """An error answer shaped like the request: one object, or one per batch member."""
    if isinstance(request, list):
        ids = [_id(item) for item in request if not _is_notification(item)]
        if ids:
            return json.dumps([_error(i, code, message) for i in ids]).encode()
        return json.dumps(_error(None, code, message)).encode()
    return json.dumps(_error(_id(request), code, message)).encode()


def head_from(body: bytes) -> int | None:
    """The block number an ``eth_blockNumber`` answer names (``{"result": "0x..."}``), if any."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    result = answer.get("result") if isinstance(answer, dict) else None
    if isinstance(result, str) and result.startswith(("0x", "0X")):
        try:
            return int(result, 16)
        except ValueError:
            return None
    return None
