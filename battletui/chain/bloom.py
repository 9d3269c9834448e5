"""The 2048-bit logs bloom of a receipt or a block (yellow paper, section 4.3.1)."""

from __future__ import annotations

from collections.abc import Iterable

from eth_utils.crypto import keccak

from battletui.chain.hexutil import data


def bloom_bits(items: Iterable[bytes]) -> int:
    """The bloom of ``items`` (addresses and topics) as an integer: for each item, three
    11-bit indices taken from pairs of bytes of its keccak256."""
    bits = 0
    for item in items:
        digest = keccak(item)
        for i in (0, 2, 4):
            bits |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return bits


def bloom_hex(bits: int) -> str:
    return data(bits.to_bytes(256, "big"))


def log_items(address: str, topics: Iterable[str]) -> list[bytes]:
    """What a log adds to a bloom: its address and each topic, as bytes."""
    return [bytes.fromhex(address[2:]), *(bytes.fromhex(topic[2:]) for topic in topics)]
