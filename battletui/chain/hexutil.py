"""Ethereum JSON hex encodings, so every field matches what geth puts on the wire."""

from __future__ import annotations


def quantity(value: int) -> str:
    """Encode a non-negative integer as a JSON-RPC QUANTITY: ``0x`` and no leading zeros."""
    if value < 0:
        raise ValueError(f"quantity must be non-negative, got {value}")
    return hex(value)


def data(raw: bytes) -> str:
    """Encode bytes as JSON-RPC DATA: ``0x`` and two lowercase hex digits per byte."""
    return "0x" + raw.hex()


def parse_quantity(text: str) -> int:
    """Decode a QUANTITY (``0x``-prefixed hex); raises ``ValueError`` on anything else."""
    if not text.startswith(("0x", "0X")) or len(text) < 3:
        raise ValueError(f"not a hex quantity: {text!r}")
    digits = text[2:]
    if not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"not a hex quantity: {text!r}")
    return int(digits, 16)
