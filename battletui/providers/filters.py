"""Polled filters: ``eth_newFilter``, ``eth_newBlockFilter``, ``eth_newPendingTransactionFilter``,
``eth_getFilterChanges``, ``eth_getFilterLogs``, ``eth_uninstallFilter``.

Filters live in one provider, as in a node: another provider (or this one after a kill, which
is a restart) does not know the id and answers -32000 "filter not found", so a gateway has to
send a filter's calls to the upstream that created it. A filter nobody polled for
``FILTER_TIMEOUT`` seconds is dropped, as geth does.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from battletui.chain import Log, Replaced
from battletui.chain.transactions import Transaction
from battletui.protocol.jsonrpc import INVALID_PARAMS
from battletui.providers.get_logs import (
    get_logs,
    log_matches,
    parse_addresses,
    parse_topics,
    resolve_block,
)
from battletui.providers.jsonrpc import Params, RpcError
from battletui.providers.params import SERVER_ERROR, args
from battletui.providers.view import ChainView

FILTER_TIMEOUT: Final = 300.0
MAX_FILTERS: Final = 10_000
MAX_PENDING_QUEUE: Final = 4096
NOT_FOUND: Final = "filter not found"


@dataclass
class _Filter:
    kind: str
    last: int
    """The highest block already reported."""
    polled: float
    criteria: dict[str, object] = field(default_factory=dict)
    pending: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_PENDING_QUEUE))


class Filters:
    """One provider's installed filters."""

    def __init__(
        self,
        view: ChainView,
        seed: int,
        provider_id: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._view = view
        self._rng = random.Random(f"battletui/filters/{seed}/{provider_id}")
        self._clock = clock
        self._filters: dict[str, _Filter] = {}
        self._unlisten: list[Callable[[], None]] = []

    @property
    def count(self) -> int:
        return len(self._filters)

    def start(self) -> None:
        chain = self._view.chain
        self._unlisten = [chain.on_reorg(self._on_reorg), chain.ledger.on_transaction(self._on_tx)]

    def stop(self) -> None:
        for unlisten in self._unlisten:
            unlisten()
        self._unlisten = []

    def clear(self) -> None:
        """Forget every filter (the provider restarted)."""
        self._filters.clear()

    def _new_id(self) -> str:
        return f"0x{self._rng.getrandbits(128):032x}"

    def _install(self, kind: str, criteria: dict[str, object] | None = None) -> str:
        self._expire()
        if len(self._filters) >= MAX_FILTERS:
            raise RpcError(SERVER_ERROR, "too many filters")
        fid = self._new_id()
        self._filters[fid] = _Filter(kind, self._view.head_number(), self._clock(), criteria or {})
        return fid

    def _expire(self) -> None:
        cutoff = self._clock() - FILTER_TIMEOUT
        for fid in [f for f, flt in self._filters.items() if flt.polled < cutoff]:
            del self._filters[fid]

    def _get(self, params: Params) -> tuple[str, _Filter]:
        a = args(params, 1, 1)
        fid = a[0]
        if not isinstance(fid, str):
            raise RpcError(INVALID_PARAMS, "invalid argument 0: filter id expected")
        self._expire()
        found = self._filters.get(fid.lower())
        if found is None:
            raise RpcError(SERVER_ERROR, NOT_FOUND)
        found.polled = self._clock()
        return fid.lower(), found

    def _on_reorg(self, replaced: Replaced) -> None:
        if replaced:
            fork = replaced[0][0]
            for flt in self._filters.values():
                flt.last = min(flt.last, fork - 1)

    def _on_tx(self, tx: Transaction) -> None:
        for flt in self._filters.values():
            if flt.kind == "pending":
                flt.pending.append(tx.hash)

    # -- the methods -----------------------------------------------------------------------

    def new_filter(self, params: Params) -> object:
        a = args(params, 1, 1)
        criteria = a[0]
        if not isinstance(criteria, dict):
            raise RpcError(INVALID_PARAMS, "invalid argument 0: filter criteria must be an object")
        parse_addresses(criteria.get("address"))
        parse_topics(criteria.get("topics"))
        head = self._view.head_number()
        for key in ("fromBlock", "toBlock"):
            if criteria.get(key) is not None:
                resolve_block(criteria[key], head)
        return self._install("logs", dict(criteria))

    def new_block_filter(self, params: Params) -> object:
        args(params, 0, 0)
        return self._install("blocks")

    def new_pending_filter(self, params: Params) -> object:
        args(params, 0, 1)
        return self._install("pending")

    def uninstall(self, params: Params) -> object:
        a = args(params, 1, 1)
        fid = a[0]
        return isinstance(fid, str) and self._filters.pop(fid.lower(), None) is not None

    def changes(self, params: Params) -> object:
        _, flt = self._get(params)
        head = self._view.head_number()
        if flt.kind == "pending":
            out = list(flt.pending)
            flt.pending.clear()
            return out
        first, flt.last = flt.last + 1, max(flt.last, head)
        if flt.kind == "blocks":
            chain = self._view.chain
            return [chain.hash_of(n) for n in range(first, head + 1)]
        return self._logs(flt.criteria, first, head)

    def filter_logs(self, params: Params) -> object:
        _, flt = self._get(params)
        if flt.kind != "logs":
            raise RpcError(SERVER_ERROR, NOT_FOUND)
        return get_logs(self._view, [flt.criteria])

    def _logs(self, criteria: dict[str, object], first: int, head: int) -> list[dict[str, object]]:
        to_tag = criteria.get("toBlock")
        last = head if to_tag is None else min(head, resolve_block(to_tag, head))
        from_tag = criteria.get("fromBlock")
        if from_tag is not None and from_tag not in ("latest", "pending"):
            first = max(first, resolve_block(from_tag, head))
        addresses = parse_addresses(criteria.get("address"))
        topics = parse_topics(criteria.get("topics"))
        chain = self._view.chain
        found: list[Log] = [
            log
            for number in range(first, last + 1)
            for log in chain.logs_at(number)
            if log_matches(log, addresses, topics)
        ]
        return [log.to_json() for log in found]

    def handlers(self) -> dict[str, Callable[[Params], object]]:
        return {
            "eth_newFilter": self.new_filter,
            "eth_newBlockFilter": self.new_block_filter,
            "eth_newPendingTransactionFilter": self.new_pending_filter,
            "eth_getFilterChanges": self.changes,
            "eth_getFilterLogs": self.filter_logs,
            "eth_uninstallFilter": self.uninstall,
        }
