"""Ethereum JSON hex encodings, so every field matches what geth puts on the wire (reading a
QUANTITY back is :func:`battletui.protocol.jsonrpc.parse_quantity`)."""

from __future__ import annotations


def quantity(value: int) -> str:
    """Encode a non-negative integer as a JSON-RPC QUANTITY: ``0x`` and no leading zeros."""
    if value < 0:
        raise ValueError(f"quantity must be non-negative, got {value}")
    return hex(value)


def data(raw: bytes) -> str:
    """Encode bytes as JSON-RPC DATA: ``0x`` and two lowercase hex digits per byte."""
    return "0x" + raw.hex()
