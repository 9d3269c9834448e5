"""Which JSON-RPC call to make next: the scenario's method mix, drawn from a seeded RNG."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any


class RequestFactory:
    """Builds request bodies for the mix; reproducible for a given seed."""

    def __init__(self, mix: Mapping[str, int], seed: int) -> None:
        methods = [m for m, w in mix.items() if w > 0]
        if not methods:
            raise ValueError("the method mix has no positive weight")
        self._methods = methods
        self._weights = [mix[m] for m in methods]
        self._random = random.Random(f"workload-http-{seed}")
        self._next_id = 0
        self.last_block_hash: str | None = None
        self.last_block_number = 0
        """Newest block number seen in an answer; eth_getLogs asks for the ten up to it."""

    def next(self) -> tuple[str, dict[str, Any]]:
        method = self._random.choices(self._methods, self._weights)[0]
        self._next_id += 1
        params: list[Any] = []
        if method == "eth_getBlockByNumber":
            params = ["latest", False]
        elif method == "eth_getLogs":
            params = [
                {
                    "fromBlock": hex(max(0, self.last_block_number - 9)),
                    "toBlock": hex(self.last_block_number),
                }
                if self.last_block_number
                else {"fromBlock": "latest", "toBlock": "latest"}
            ]
        elif method == "eth_getBlockByHash":
            if self.last_block_hash is None:
                method, params = "eth_getBlockByNumber", ["latest", False]
            else:
                params = [self.last_block_hash, False]
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
        return method, body
