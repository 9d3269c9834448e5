"""JSON-RPC 2.0 envelopes: single requests, batches and the spec's edge cases.

Transport-free: takes the decoded body (see ``parse``; ``parse_error_response`` answers one
that is not JSON) and returns the JSON value to send (or None when the spec says nothing is
returned), so it is easy to test and to reuse for WebSocket frames.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from battletui.protocol.jsonrpc import INVALID_REQUEST, PARSE_ERROR

PARSE_ERROR_MESSAGE: Final = "parse error"

MAX_BATCH: Final = 1000
"""geth's default batch limit; larger batches are refused as one invalid request."""

Params = list[object] | dict[str, object] | None
Method = Callable[[str, Params], object]
"""Dispatches ``(method name, params)`` to a result, raising ``RpcError`` to fail."""


class RpcError(Exception):
    """A JSON-RPC error to return to the caller."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        """The error's ``data`` member (a revert's return data, as geth sends it)."""


def error_response(
    request_id: object, code: int, message: str, data: str | None = None
) -> dict[str, object]:
    """A JSON-RPC error response object."""
    error: dict[str, object] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def _valid_id(value: object) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def request_id(message: object) -> object:
    """The id to echo for ``message``, or None when it has no usable id."""
    if isinstance(message, dict):
        value = message.get("id")
        if _valid_id(value):
            return value
    return None


def parse(body: bytes) -> object:
    """Decode a body; raises ``RpcError(PARSE_ERROR)`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise RpcError(PARSE_ERROR, PARSE_ERROR_MESSAGE) from exc


def is_valid_request(message: object) -> bool:
    """True when ``message`` is a well-formed request or notification object."""
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
        and ("id" not in message or _valid_id(message["id"]))
        and isinstance(message.get("params", []), list | dict)
    )


def is_notification(message: object) -> bool:
    """True for a valid request without an id: the spec says it gets no answer."""
    return is_valid_request(message) and isinstance(message, dict) and "id" not in message


def method_names(payload: object) -> list[str]:
    """The method names of a decoded body (one request or a batch); junk is skipped."""
    members = payload if isinstance(payload, list) else [payload]
    return [
        m["method"] for m in members if isinstance(m, dict) and isinstance(m.get("method"), str)
    ]


def handle_one(message: object, call: Method) -> dict[str, object] | None:
    """Answer one request object; None for a (valid) notification."""
    if not is_valid_request(message):
        return error_response(request_id(message), INVALID_REQUEST, "invalid request")
    assert isinstance(message, dict)
    is_notification = "id" not in message
    params: Params = message.get("params")
    try:
        result = call(message["method"], params)
    except RpcError as exc:
        response = error_response(message.get("id"), exc.code, exc.message, exc.data)
    else:
        response = {"jsonrpc": "2.0", "id": message.get("id"), "result": result}
    return None if is_notification else response


def handle_payload(payload: object, call: Method) -> object | None:
    """Answer a decoded body: an object, a list of objects, or None (nothing to send)."""
    if isinstance(payload, list):
        if not payload:
            return error_response(None, INVALID_REQUEST, "empty batch")
        if len(payload) > MAX_BATCH:
            return error_response(None, INVALID_REQUEST, "batch too large")
        answers = [handle_one(member, call) for member in payload]
        responses = [answer for answer in answers if answer is not None]
        return responses or None
    return handle_one(payload, call)


def parse_error_response() -> dict[str, object]:
    """The answer to a body that is not JSON (null id: none could be read)."""
    return error_response(None, PARSE_ERROR, PARSE_ERROR_MESSAGE)
