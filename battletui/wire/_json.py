"""JSON decoding on the hot paths: orjson (several times faster than the standard library),
with the standard library as the fallback for what orjson refuses but JSON allows (integers
beyond 64 bits, say, as a JSON-RPC id may be), so the answer never depends on the speed-up."""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["loads"]


def loads(data: bytes | str) -> Any:
    """``json.loads``, fast; raises ``ValueError`` (or ``RecursionError``) as it does."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
