"""The methods a wallet or a dapp calls at start-up: balances, nonces, code, calls, gas and
fees, answered from the chain's state at the asked block, as geth answers them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Final

from battletui.chain import quantity
from battletui.chain.calls import BlockContext, call
from battletui.chain.execution import Reverted, execute, intrinsic_gas
from battletui.chain.fees import percentile
from battletui.chain.hexutil import data
from battletui.chain.ledger import MissingState
from battletui.chain.state import State
from battletui.chain.tokens import CONTRACT_ADDRESSES, MULTICALL3, stand_in_code
from battletui.protocol.jsonrpc import INVALID_PARAMS
from battletui.providers.jsonrpc import Params, RpcError
from battletui.providers.params import (
    SERVER_ERROR,
    address,
    args,
    block_number,
    call_object,
    quantity_arg,
)
from battletui.providers.view import ChainView

REVERTED: Final = 3
"""geth's error code for a revert that returned data."""
MAX_FEE_HISTORY: Final = 1024
GAS_PRICE_BLOCKS: Final = 20
GAS_PRICE_PERCENTILE: Final = 60
MIN_SUGGESTED_TIP: Final = 10**6
BLOB_BASE_FEE: Final = "0x1"

Handler = Callable[[ChainView, Params], object]


def _state(view: ChainView, value: object, argument: int) -> tuple[int, State]:
    number = block_number(view, "latest" if value is None else value, argument)
    try:
        state = view.state_at(number)
    except MissingState:
        root = view.chain.block(number)
        name = root.state_root if root is not None else "0x" + "00" * 32
        raise RpcError(
            SERVER_ERROR, f"missing trie node {name[2:]} (path ) state {name} is not available"
        ) from None
    if state is None:
        raise RpcError(SERVER_ERROR, "header not found")
    return number, state


def get_balance(view: ChainView, params: Params) -> object:
    a = args(params, 1, 2)
    _, state = _state(view, a[1] if len(a) > 1 else None, 1)
    return quantity(state.balance(address(a[0], 0)))


def get_transaction_count(view: ChainView, params: Params) -> object:
    a = args(params, 1, 2)
    who = address(a[0], 0)
    tag = a[1] if len(a) > 1 else None
    number, state = _state(view, tag, 1)
    if tag == "pending":
        return quantity(view.chain.ledger.pending_nonce(who, number))
    return quantity(state.nonce(who))


def get_code(view: ChainView, params: Params) -> object:
    a = args(params, 1, 2)
    _state(view, a[1] if len(a) > 1 else None, 1)
    who = address(a[0], 0)
    return stand_in_code(who) if who in CONTRACT_ADDRESSES else "0x"


def get_storage_at(view: ChainView, params: Params) -> object:
    a = args(params, 2, 3)
    address(a[0], 0)
    _state(view, a[2] if len(a) > 2 else None, 2)
    return "0x" + "00" * 32  # the emulated contracts keep no storage slots to read


def _context(view: ChainView, number: int) -> BlockContext:
    block = view.chain.block(number)
    assert block is not None
    return BlockContext(number, block.timestamp, block.base_fee_per_gas, view.chain.chain_id)


def _revert_error(exc: Reverted) -> RpcError:
    if exc.data:
        return RpcError(REVERTED, f"execution reverted: {exc.reason}", data(exc.data))
    if exc.reason and exc.reason != "execution reverted":
        return RpcError(SERVER_ERROR, exc.reason)
    return RpcError(SERVER_ERROR, "execution reverted")


def eth_call(view: ChainView, params: Params) -> object:
    a = args(params, 1, 4)  # geth also takes state and block overrides (ignored here)
    tx = call_object(a[0])
    number, state = _state(view, a[1] if len(a) > 1 else None, 1)
    try:
        return data(call(state, _context(view, number), tx.sender, tx.to, tx.value, tx.payload))
    except Reverted as exc:
        raise _revert_error(exc) from None


def estimate_gas(view: ChainView, params: Params) -> object:
    a = args(params, 1, 3)
    tx = call_object(a[0])
    _, state = _state(view, a[1] if len(a) > 1 else None, 1)
    if tx.to is None:
        raise RpcError(
            SERVER_ERROR, "contract creation is not supported by the battletui mock chain"
        )
    try:
        if tx.to == MULTICALL3:
            call(state, _context(view, view.head_number()), tx.sender, tx.to, tx.value, tx.payload)
            gas = intrinsic_gas(tx.payload) + 25_000 * max(1, len(tx.payload) // 160)
        else:
            gas = execute(state.copy(), tx.sender, tx.to, tx.value, tx.payload).gas_used
    except Reverted as exc:
        raise _revert_error(exc) from None
    if tx.gas is not None and gas > tx.gas:
        raise RpcError(SERVER_ERROR, f"gas required exceeds allowance ({tx.gas})")
    return quantity(gas)


def suggested_tip(view: ChainView) -> int:
    """geth's oracle: the 60th percentile of the tips in the last 20 blocks."""
    head = view.head_number()
    tips: list[int] = []
    for number in range(max(0, head - GAS_PRICE_BLOCKS + 1), head + 1):
        block = view.chain.block(number)
        if block is None or block.body is None:
            continue
        base = block.base_fee_per_gas
        tips += [r.where.gas_price - base for r in block.body.receipts]
    return max(MIN_SUGGESTED_TIP, percentile(tips, GAS_PRICE_PERCENTILE))


def gas_price(view: ChainView, params: Params) -> object:
    args(params, 0, 0)
    head = view.chain.block(view.head_number())
    assert head is not None
    return quantity(head.base_fee_per_gas + suggested_tip(view))


def max_priority_fee(view: ChainView, params: Params) -> object:
    args(params, 0, 0)
    return quantity(suggested_tip(view))


def fee_history(view: ChainView, params: Params) -> object:
    a = args(params, 2, 3)
    count = min(quantity_arg(a[0], 0, "blockCount"), MAX_FEE_HISTORY)
    newest = block_number(view, a[1], 1)
    head = view.head_number()
    if newest > head:
        raise RpcError(
            INVALID_PARAMS, f"request beyond head block: requested {newest}, head {head}"
        )
    percentiles = a[2] if len(a) > 2 and a[2] is not None else None
    if percentiles is not None:
        if not isinstance(percentiles, list) or not all(
            isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 100
            for p in percentiles
        ):
            raise RpcError(INVALID_PARAMS, "invalid reward percentile")
        if any(b < c for c, b in itertools.pairwise(percentiles)):
            raise RpcError(INVALID_PARAMS, "invalid reward percentile")
    if count == 0:
        return {
            "oldestBlock": "0x0",
            "baseFeePerGas": [],
            "gasUsedRatio": [],
            "baseFeePerBlobGas": [],
            "blobGasUsedRatio": [],
        }
    oldest = max(0, newest - count + 1)
    base_fees, ratios, rewards = [], [], []
    for number in range(oldest, newest + 1):
        block = view.chain.block(number)
        assert block is not None
        base_fees.append(quantity(block.base_fee_per_gas))
        body = block.body
        used = 0 if body is None else body.gas_used
        ratios.append(used / block.gas_limit)
        if percentiles is not None:
            rewards.append(_rewards(block.base_fee_per_gas, body, percentiles))
    base_fees.append(quantity(view.chain.base_fee_of(newest + 1)))
    out: dict[str, object] = {
        "oldestBlock": quantity(oldest),
        "reward": rewards,
        "baseFeePerGas": base_fees,
        "gasUsedRatio": ratios,
        "baseFeePerBlobGas": [BLOB_BASE_FEE] * len(base_fees),
        "blobGasUsedRatio": [0.0] * len(ratios),
    }
    if percentiles is None:
        del out["reward"]
    return out


def _rewards(base: int, body: object, percentiles: list[float]) -> list[str]:
    """Per percentile, the tip at that share of the block's gas (geth weights by gas used)."""
    receipts = getattr(body, "receipts", ())
    if not receipts:
        return ["0x0"] * len(percentiles)
    ranked = sorted((r.where.gas_price - base, r.gas_used) for r in receipts)
    total = sum(gas for _, gas in ranked)
    out = []
    for p in percentiles:
        threshold, cumulative, chosen = total * p / 100, 0, ranked[-1][0]
        for tip, gas in ranked:
            cumulative += gas
            if cumulative >= threshold:
                chosen = tip
                break
        out.append(quantity(chosen))
    return out


def accounts(view: ChainView, params: Params) -> object:
    args(params, 0, 0)
    return []  # like a geth node without a keystore: clients sign themselves


HANDLERS: Final[dict[str, Handler]] = {
    "eth_getBalance": get_balance,
    "eth_getTransactionCount": get_transaction_count,
    "eth_getCode": get_code,
    "eth_getStorageAt": get_storage_at,
    "eth_call": eth_call,
    "eth_estimateGas": estimate_gas,
    "eth_gasPrice": gas_price,
    "eth_maxPriorityFeePerGas": max_priority_fee,
    "eth_feeHistory": fee_history,
    "eth_accounts": accounts,
}
