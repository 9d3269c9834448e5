"""``eth_call`` on the mock chain: the tokens' views and Multicall3, decoded with eth-abi.

A call to an account without code returns empty data (as in geth); a call the emulation does
not know reverts with empty data; the tokens' own checks revert with Solidity's
``Error(string)``, so clients show the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError

from battletui.chain.execution import Reverted, execute
from battletui.chain.state import State
from battletui.chain.tokens import (
    AGGREGATE,
    AGGREGATE3,
    ALLOWANCE,
    BALANCE_OF,
    DECIMALS,
    GET_BASEFEE,
    GET_BLOCK_NUMBER,
    GET_CHAIN_ID,
    GET_CURRENT_BLOCK_TIMESTAMP,
    GET_ETH_BALANCE,
    MULTICALL3,
    NAME,
    SYMBOL,
    TOKENS_BY_ADDRESS,
    TOTAL_SUPPLY,
    TRY_AGGREGATE,
    TokenSpec,
)


@dataclass(frozen=True)
class BlockContext:
    """The block a call runs on top of."""

    number: int
    timestamp: int
    base_fee: int
    chain_id: int


def _decode(types: list[str], payload: bytes) -> tuple[object, ...]:
    try:
        return tuple(decode(types, payload[4:]))
    except (DecodingError, ValueError, OverflowError):
        raise Reverted(None) from None


def _uint(value: int) -> bytes:
    return encode(["uint256"], [value])


def _token_view(state: State, token: TokenSpec, payload: bytes) -> bytes | None:
    head = payload[:4]
    if head == BALANCE_OF:
        (holder,) = _decode(["address"], payload)
        return _uint(state.token_balance(token.address, str(holder).lower()))
    if head == ALLOWANCE:
        owner, spender = _decode(["address", "address"], payload)
        return _uint(state.allowance(token.address, str(owner).lower(), str(spender).lower()))
    if head == TOTAL_SUPPLY:
        return _uint(state.total_supply(token.address))
    if head == DECIMALS:
        return encode(["uint8"], [token.decimals])
    if head == SYMBOL:
        return encode(["string"], [token.symbol])
    if head == NAME:
        return encode(["string"], [token.name])
    return None


def _multicall(state: State, ctx: BlockContext, payload: bytes) -> bytes:
    head = payload[:4]
    if head == AGGREGATE3:
        (calls,) = _decode(["(address,bool,bytes)[]"], payload)
        results = []
        for target, allow_failure, data in calls:  # type: ignore[attr-defined]
            ok, out = _try(state, ctx, MULTICALL3, str(target).lower(), bytes(data))
            if not ok and not allow_failure:
                raise Reverted("Multicall3: call failed")
            results.append((ok, out))
        return encode(["(bool,bytes)[]"], [results])
    if head == TRY_AGGREGATE:
        require, calls = _decode(["bool", "(address,bytes)[]"], payload)
        results = []
        for target, data in calls:  # type: ignore[attr-defined]
            ok, out = _try(state, ctx, MULTICALL3, str(target).lower(), bytes(data))
            if not ok and require:
                raise Reverted("Multicall3: call failed")
            results.append((ok, out))
        return encode(["(bool,bytes)[]"], [results])
    if head == AGGREGATE:
        (calls,) = _decode(["(address,bytes)[]"], payload)
        outputs = []
        for target, data in calls:  # type: ignore[attr-defined]
            ok, out = _try(state, ctx, MULTICALL3, str(target).lower(), bytes(data))
            if not ok:
                raise Reverted("Multicall3: call failed")
            outputs.append(out)
        return encode(["uint256", "bytes[]"], [ctx.number, outputs])
    if head == GET_ETH_BALANCE:
        (holder,) = _decode(["address"], payload)
        return _uint(state.balance(str(holder).lower()))
    simple = {
        GET_BLOCK_NUMBER: ctx.number,
        GET_CHAIN_ID: ctx.chain_id,
        GET_BASEFEE: ctx.base_fee,
        GET_CURRENT_BLOCK_TIMESTAMP: ctx.timestamp,
    }
    if head in simple and len(payload) == 4:
        return _uint(simple[head])
    raise Reverted(None)


def _try(
    state: State, ctx: BlockContext, sender: str, to: str, payload: bytes
) -> tuple[bool, bytes]:
    try:
        return True, call(state, ctx, sender, to, 0, payload)
    except Reverted as exc:
        return False, exc.data


def call(
    state: State, ctx: BlockContext, sender: str, to: str | None, value: int, payload: bytes
) -> bytes:
    """What ``eth_call`` returns; raises ``Reverted``. ``state`` is not changed."""
    if to is None:
        raise Reverted("contract creation is not supported by the battletui mock chain")
    token = TOKENS_BY_ADDRESS.get(to)
    if token is not None:
        view = _token_view(state, token, payload)
        if view is not None:
            if value:
                raise Reverted(None)
            return view
        execute(state.copy(), sender, to, value, payload)  # a state-changing method: simulate
        return encode(["bool"], [True])
    if to == MULTICALL3:
        if value:
            raise Reverted(None)
        return _multicall(state, ctx, payload)
    if value and state.balance(sender) < value:
        raise Reverted("insufficient funds for transfer")
    return b""
