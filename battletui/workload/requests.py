"""Which JSON-RPC call to make next: the scenario's method mix, drawn from a seeded RNG.

Bodies come out as bytes. A method whose params never change is a pre-encoded template
with only the id filled in (one ``%`` format per request, no JSON encoder on the hot path);
the few with params that follow the chain (``eth_getLogs`` over the last ten blocks,
``eth_getBlockByHash`` of the last block seen) are encoded with orjson.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping
from typing import Any, Final

import orjson

__all__ = ["RequestFactory"]

_CONSTANT_PARAMS: Final[Mapping[str, list[Any]]] = {"eth_getBlockByNumber": ["latest", False]}
_FOLLOWS_CHAIN: Final = frozenset({"eth_getLogs", "eth_getBlockByHash"})


def _template(method: str, params: list[Any]) -> bytes:
    """``{"jsonrpc":"2.0","id":%d,...}`` for a method whose params are fixed."""
    body = orjson.dumps({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
    return body.replace(b'"id":0', b'"id":%d', 1)


class RequestFactory:
    """Builds request bodies for the mix; reproducible for a given seed (and stream)."""

    def __init__(self, mix: Mapping[str, int], seed: int, *, stream: int = 0) -> None:
        methods = [m for m, w in mix.items() if w > 0]
        if not methods:
            raise ValueError("the method mix has no positive weight")
        self._methods = methods
        self._cumulative = list(itertools.accumulate(mix[m] for m in methods))
        self._total = float(self._cumulative[-1])
        name = f"workload-http-{seed}" if stream == 0 else f"workload-http-{seed}-{stream}"
        self._random = random.Random(name)
        self._next_id = 0
        self._templates = {
            m: _template(m, _CONSTANT_PARAMS.get(m, [])) for m in methods if m not in _FOLLOWS_CHAIN
        }
        self.last_block_hash: str | None = None
        self.last_block_number = 0
        """Newest block number seen in an answer; eth_getLogs asks for the ten up to it."""

    def next(self) -> tuple[str, bytes]:
        """The next method of the mix and its whole JSON-RPC body."""
        # random.choices(methods, weights)[0], the same draw without its per-call set-up
        draw = self._random.random() * self._total
        method = self._methods[bisect.bisect(self._cumulative, draw, 0, len(self._methods) - 1)]
        self._next_id += 1
        template = self._templates.get(method)
        if template is not None:
            return method, template % self._next_id
        params: list[Any]
        if method == "eth_getLogs":
            params = [
                {
                    "fromBlock": hex(max(0, self.last_block_number - 9)),
                    "toBlock": hex(self.last_block_number),
                }
                if self.last_block_number
                else {"fromBlock": "latest", "toBlock": "latest"}
            ]
        elif self.last_block_hash is None:  # eth_getBlockByHash before any block was seen
            method, params = "eth_getBlockByNumber", ["latest", False]
        else:
            params = [self.last_block_hash, False]
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        return method, orjson.dumps(body)
