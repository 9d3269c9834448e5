"""Transactions and receipts: lookups by hash and block, and ``eth_sendRawTransaction``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from battletui.chain import Block, quantity
from battletui.chain.ledger import TxRejected
from battletui.chain.transactions import Receipt
from battletui.providers.jsonrpc import Params, RpcError
from battletui.providers.params import SERVER_ERROR, args, block_number, hash32, hex_bytes
from battletui.providers.view import ChainView

Handler = Callable[[ChainView, Params], object]


def _find(view: ChainView, tx_hash: str) -> tuple[Block, Receipt] | None:
    number = view.chain.ledger.block_of(tx_hash)
    if number is None:
        return None
    block = view.block(number)
    if block is None or block.body is None:
        return None
    for receipt in block.body.receipts:
        if receipt.transaction.hash == tx_hash:
            return block, receipt
    return None


def transaction_by_hash(view: ChainView, params: Params) -> object:
    a = args(params, 1, 1)
    wanted = hash32(a[0], 0)
    found = _find(view, wanted)
    if found is not None:
        _, receipt = found
        return receipt.transaction.to_json(receipt.where)
    pending = view.chain.ledger.user_transaction(wanted)
    if pending is not None and pending[0] > view.head_number():
        return pending[1].to_json(None)
    return None


def transaction_receipt(view: ChainView, params: Params) -> object:
    a = args(params, 1, 1)
    found = _find(view, hash32(a[0], 0))
    return None if found is None else found[1].to_json()


def block_receipts(view: ChainView, params: Params) -> object:
    a = args(params, 1, 1)
    value = a[0]
    if isinstance(value, str) and len(value) == 66:
        block = view.block_by_hash(hash32(value, 0))
    else:
        block = view.block(block_number(view, value, 0))
    if block is None:
        return None
    return [] if block.body is None else [r.to_json() for r in block.body.receipts]


def _block_arg(view: ChainView, value: object, by_hash: bool) -> Block | None:
    if by_hash:
        return view.block_by_hash(hash32(value, 0))
    return view.block(block_number(view, value, 0))


def _by_index(by_hash: bool) -> Handler:
    def handler(view: ChainView, params: Params) -> object:
        a = args(params, 2, 2)
        block = _block_arg(view, a[0], by_hash)
        if block is None or block.body is None:
            return None
        index = a[1]
        if not isinstance(index, str):
            raise RpcError(-32602, "invalid argument 1: hex string expected")
        position = int(index, 16) if index[:2] in ("0x", "0X") and len(index) > 2 else -1
        receipts = block.body.receipts
        if not 0 <= position < len(receipts):
            return None
        receipt = receipts[position]
        return receipt.transaction.to_json(receipt.where)

    return handler


def _count(by_hash: bool) -> Handler:
    def handler(view: ChainView, params: Params) -> object:
        a = args(params, 1, 1)
        block = _block_arg(view, a[0], by_hash)
        if block is None:
            return None
        return quantity(0 if block.body is None else len(block.body.transactions))

    return handler


def send_raw_transaction(view: ChainView, params: Params) -> object:
    a = args(params, 1, 1)
    raw = hex_bytes(a[0], 0)
    try:
        tx = view.chain.ledger.submit(raw)
    except TxRejected as exc:
        raise RpcError(SERVER_ERROR, str(exc)) from None
    return tx.hash


HANDLERS: Final[dict[str, Handler]] = {
    "eth_getTransactionByHash": transaction_by_hash,
    "eth_getTransactionReceipt": transaction_receipt,
    "eth_getBlockReceipts": block_receipts,
    "eth_getTransactionByBlockNumberAndIndex": _by_index(by_hash=False),
    "eth_getTransactionByBlockHashAndIndex": _by_index(by_hash=True),
    "eth_getBlockTransactionCountByNumber": _count(by_hash=False),
    "eth_getBlockTransactionCountByHash": _count(by_hash=True),
    "eth_sendRawTransaction": send_raw_transaction,
}
