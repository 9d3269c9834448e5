"""Filters belong to the upstream that made them: their later calls must go back to it.

A node keeps ``eth_newFilter`` / ``eth_newBlockFilter`` / ``eth_newPendingTransactionFilter``
state in memory under an id only it knows, so ``eth_getFilterChanges``, ``eth_getFilterLogs``
and ``eth_uninstallFilter`` sent anywhere else fail with "filter not found" (or, worse, read
another node's filter with the same id). The router remembers which upstream answered each
creation (bounded; forgotten after the nodes' own five-minute filter timeout without a poll)
and sends the filter's calls there only, without failover: when that upstream cannot answer,
the client gets -32000 "filter not found" and makes a new filter, as viem, ethers and web3.py
do.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

CREATE: Final = frozenset(
    {"eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter"}
)
USE: Final = frozenset({"eth_getFilterChanges", "eth_getFilterLogs", "eth_uninstallFilter"})
FILTER_TTL: Final = 300.0
MAX_PINS: Final = 10_000
NOT_FOUND: Final = "filter not found"


class FilterPins:
    """Filter id -> the upstream that created it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pins: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pins)

    @staticmethod
    def filter_call(request: Any) -> str | None:
        """The filter id a single request uses (None for anything else)."""
        if not isinstance(request, dict) or request.get("method") not in USE:
            return None
        params = request.get("params")
        if isinstance(params, list) and params and isinstance(params[0], str):
            return params[0].lower()
        return None

    def upstream_for(self, request: Any) -> str | None:
        """Where a filter call must go, if the gateway made that filter."""
        fid = self.filter_call(request)
        if fid is None:
            return None
        self._expire()
        pin = self._pins.get(fid)
        if pin is None:
            return None
        self._pins[fid] = (pin[0], self._clock())
        self._pins.move_to_end(fid)
        return pin[0]

    def learn(self, request: Any, answer: Any, upstream: str) -> None:
        """Remember a new filter from its creation's answer; forget an uninstalled one."""
        if not isinstance(request, dict) or not isinstance(answer, dict):
            return
        method = request.get("method")
        if method in CREATE and isinstance(answer.get("result"), str):
            self._pins[answer["result"].lower()] = (upstream, self._clock())
            while len(self._pins) > MAX_PINS:
                self._pins.popitem(last=False)
        elif method == "eth_uninstallFilter" and answer.get("result") is True:
            fid = self.filter_call(request)
            if fid is not None:
                self._pins.pop(fid, None)

    def _expire(self) -> None:
        cutoff = self._clock() - FILTER_TTL
        while self._pins:
            fid, (_, used) = next(iter(self._pins.items()))
            if used >= cutoff:
                break
            del self._pins[fid]
