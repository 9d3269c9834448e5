"""The JSON-RPC 2.0 codes and the QUANTITY reading that the gateway, the providers and the
checks of their answers all need, defined once."""

from __future__ import annotations

from typing import Final

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "parse_quantity",
]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603

_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")


def parse_quantity(value: object) -> int | None:
    """A JSON-RPC QUANTITY (``0x``-prefixed hex) as an int; None for anything else, so a
    caller decides whether junk is an error (a provider's parameter) or just no number (a
    head in an upstream's answer)."""
    if not isinstance(value, str) or len(value) < 3 or not value.startswith(("0x", "0X")):
        return None
    digits = value[2:]
    if not _HEX_DIGITS.issuperset(digits):
        return None
    return int(digits, 16)
