"""The Ethereum methods a mock provider answers, read off the shared mock chain through the
provider's view of it (capped at a frozen head while the provider lags): blocks and logs
here, state and fees in ``state_methods``, transactions in ``tx_methods``, polled filters in
``filters``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

from battletui.chain import quantity
from battletui.protocol.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND
from battletui.providers import state_methods, tx_methods
from battletui.providers.filters import Filters
from battletui.providers.get_logs import get_logs, resolve_block
from battletui.providers.jsonrpc import Params, RpcError
from battletui.providers.params import args as _args
from battletui.providers.view import ChainView

CLIENT_VERSION: Final = "Geth/v1.14.12-stable/linux-amd64/go1.23.4 battletui-mock/{id}"
PEER_COUNT: Final = 25

SUBSCRIPTION_METHODS: Final = frozenset({"eth_subscribe", "eth_unsubscribe"})
"""Answered on WebSockets only; over HTTP they fail the way geth fails them."""
NOTIFICATIONS_UNSUPPORTED: Final = "notifications not supported"


def _full_flag(args: list[object]) -> bool:
    if len(args) < 2:
        return False
    flag = args[1]
    if not isinstance(flag, bool):
        raise RpcError(INVALID_PARAMS, "invalid argument 1: expected a boolean")
    return flag


class EthApi:
    """Dispatches JSON-RPC method names to answers from ``view`` (the provider's view of the
    shared chain, which a lagging provider caps at its frozen head).

    Stateless apart from the view, so every provider on one chain agrees on every answer
    unless one lags. One instance serves a provider's HTTP and WebSocket endpoints alike.
    """

    def __init__(self, view: ChainView, provider_id: str, seed: int = 0) -> None:
        self._chain = view.chain
        self._view = view
        self._client_version = CLIENT_VERSION.format(id=provider_id)
        self.filters = Filters(view, seed, provider_id)
        """This provider's polled filters (gone when it restarts: ``clear``)."""
        self._methods: dict[str, Callable[[Params], object]] = {
            "eth_chainId": self._chain_id,
            "net_version": self._net_version,
            "eth_blockNumber": self._block_number,
            "eth_getBlockByNumber": self._block_by_number,
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getLogs": self._get_logs,
            "web3_clientVersion": self._web3_client_version,
            "eth_syncing": self._syncing,
            "net_peerCount": self._peer_count,
            **self.filters.handlers(),
        }
        for table in (state_methods.HANDLERS, tx_methods.HANDLERS):
            for name, handler in table.items():
                self._methods[name] = functools.partial(handler, view)

    @property
    def methods(self) -> frozenset[str]:
        """Names this API answers."""
        return frozenset(self._methods)

    def __call__(self, method: str, params: Params) -> object:
        """Answer ``method``; raises ``RpcError`` for unknown methods and bad params."""
        handler = self._methods.get(method)
        if handler is None and method in SUBSCRIPTION_METHODS:
            raise RpcError(METHOD_NOT_FOUND, NOTIFICATIONS_UNSUPPORTED)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        return handler(params)

    def _chain_id(self, params: Params) -> object:
        _args(params, 0, 0)
        return quantity(self._chain.chain_id)

    def _net_version(self, params: Params) -> object:
        _args(params, 0, 0)
        return str(self._chain.chain_id)

    def _block_number(self, params: Params) -> object:
        _args(params, 0, 0)
        return quantity(self._view.head_number())

    def _web3_client_version(self, params: Params) -> object:
        _args(params, 0, 0)
        return self._client_version

    def _syncing(self, params: Params) -> object:
        _args(params, 0, 0)
        return False

    def _peer_count(self, params: Params) -> object:
        _args(params, 0, 0)
        return quantity(PEER_COUNT)

    def _block_by_number(self, params: Params) -> object:
        args = _args(params, 1, 2)
        full = _full_flag(args)
        block = self._view.block(resolve_block(args[0], self._view.head_number()))
        return None if block is None else block.to_json(full)

    def _block_by_hash(self, params: Params) -> object:
        args = _args(params, 1, 2)
        full = _full_flag(args)
        wanted = args[0]
        if not (isinstance(wanted, str) and _is_hash(wanted)):
            raise RpcError(INVALID_PARAMS, "invalid argument 0: hex string of 32 bytes expected")
        block = self._view.block_by_hash(wanted)
        return None if block is None else block.to_json(full)

    def _get_logs(self, params: Params) -> object:
        return get_logs(self._view, params)


def _is_hash(text: str) -> bool:
    digits = text[2:]
    return (
        text[:2] in ("0x", "0X")
        and len(digits) == 64
        and all(c in "0123456789abcdefABCDEF" for c in digits)
    )
