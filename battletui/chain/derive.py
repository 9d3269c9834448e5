"""Deterministic bytes from (seed, chain id, label, number): the whole chain is a pure function.

Labels keep the fields independent (a block's hash says nothing about its state root), and
sha256 makes two seeds look unrelated while the same seed always gives the same chain.
"""

from __future__ import annotations

import hashlib


def derive(seed: int, chain_id: int, label: str, number: int) -> bytes:
    """32 bytes that depend only on the arguments."""
    material = f"battletui/{label}/{seed}/{chain_id}/{number}".encode()
    return hashlib.sha256(material).digest()


def derive_int(seed: int, chain_id: int, label: str, number: int, low: int, high: int) -> int:
    """A deterministic integer in ``[low, high)``."""
    if high <= low:
        raise ValueError("empty range")
    value = int.from_bytes(derive(seed, chain_id, label, number)[:8], "big")
    return low + value % (high - low)
