"""What a transaction does to the state: ether transfers and the tokens' ERC-20 methods.

The ABI is decoded with eth-abi; gas follows fixed schedules close to what an OpenZeppelin
ERC-20 costs, so receipts, estimates and balances agree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError

from battletui.chain.hexutil import data
from battletui.chain.state import State
from battletui.chain.tokens import (
    APPROVAL_TOPIC,
    APPROVE,
    TOKENS_BY_ADDRESS,
    TRANSFER,
    TRANSFER_FROM,
    TRANSFER_TOPIC,
)

TX_GAS: Final = 21_000
TRANSFER_GAS: Final = 34_517
"""An ERC-20 transfer between two holders that already hold the token."""
TRANSFER_NEW_HOLDER_GAS: Final = 51_617
APPROVE_GAS: Final = 46_109
APPROVE_AGAIN_GAS: Final = 29_009
TRANSFER_FROM_GAS: Final = 39_887
REVERT_GAS: Final = 2_300
"""Gas a reverting call spends beyond its intrinsic cost."""

ERROR_SELECTOR: Final = bytes.fromhex("08c379a0")
"""``Error(string)``: the revert data Solidity's ``require(cond, "reason")`` returns."""


@dataclass(frozen=True)
class EmittedLog:
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class Effect:
    """The outcome of one transaction: success (status 1) or revert (0), gas, logs."""

    status: int
    gas_used: int
    logs: tuple[EmittedLog, ...] = ()
    revert: bytes = b""


class Reverted(Exception):
    """A call that reverts; ``data`` is the revert data (``Error(string)`` or empty)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "execution reverted")
        self.reason = reason
        self.data = b"" if reason is None else ERROR_SELECTOR + encode(["string"], [reason])


def intrinsic_gas(payload: bytes) -> int:
    """21,000 plus calldata: 16 gas a non-zero byte, 4 a zero byte (EIP-2028)."""
    zeros = payload.count(0)
    return TX_GAS + 4 * zeros + 16 * (len(payload) - zeros)


def _topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:]


def _args(types: list[str], payload: bytes) -> tuple[object, ...]:
    try:
        return tuple(decode(types, payload[4:]))
    except (DecodingError, ValueError, OverflowError):
        raise Reverted(None) from None


def run_token_call(state: State, token: str, sender: str, payload: bytes, value: int) -> Effect:
    """Execute an ERC-20 method on ``state``; every check comes before any change, so a
    revert leaves ``state`` as it was."""
    if value:
        raise Reverted(None)  # no payable function
    extra = intrinsic_gas(payload) - TX_GAS
    head = payload[:4]
    if head == TRANSFER:
        receiver, amount = _args(["address", "uint256"], payload)
        return _transfer(state, token, sender, str(receiver).lower(), int(amount), extra)  # type: ignore[call-overload]
    if head == TRANSFER_FROM:
        owner, receiver, amount = _args(["address", "address", "uint256"], payload)
        owner_s, amount_i = str(owner).lower(), int(amount)  # type: ignore[call-overload]
        allowed = state.allowance(token, owner_s, sender)
        if allowed < amount_i:
            raise Reverted("ERC20: insufficient allowance")
        effect = _transfer(state, token, owner_s, str(receiver).lower(), amount_i, extra)
        state.allowances[(token, owner_s, sender)] = allowed - amount_i
        return Effect(1, effect.gas_used + TRANSFER_FROM_GAS - TRANSFER_GAS, effect.logs)
    if head == APPROVE:
        spender, amount = _args(["address", "uint256"], payload)
        spender_s, amount_i = str(spender).lower(), int(amount)  # type: ignore[call-overload]
        before = state.allowance(token, sender, spender_s)
        state.allowances[(token, sender, spender_s)] = amount_i
        gas = APPROVE_AGAIN_GAS if before else APPROVE_GAS
        log = EmittedLog(
            token,
            (APPROVAL_TOPIC, _topic(sender), _topic(spender_s)),
            data(amount_i.to_bytes(32, "big")),
        )
        return Effect(1, gas + extra, (log,))
    raise Reverted(None)


def _transfer(
    state: State, token: str, sender: str, receiver: str, amount: int, extra: int
) -> Effect:
    if state.token_balance(token, sender) < amount:
        raise Reverted("ERC20: transfer amount exceeds balance")
    new_holder = state.token_balance(token, receiver) == 0
    state.move_tokens(token, sender, receiver, amount)
    gas = TRANSFER_NEW_HOLDER_GAS if new_holder else TRANSFER_GAS
    log = EmittedLog(
        token, (TRANSFER_TOPIC, _topic(sender), _topic(receiver)), data(amount.to_bytes(32, "big"))
    )
    return Effect(1, gas + extra, (log,))


def execute(state: State, sender: str, to: str | None, value: int, payload: bytes) -> Effect:
    """Run a transaction's call on ``state`` (fees aside): value, then the token method.

    A revert leaves ``state`` as it was and reports status 0; ether moves only on success.
    """
    if to is None:
        raise Reverted("contract creation is not supported by the battletui mock chain")
    if state.balance(sender) < value:
        raise Reverted("insufficient funds for transfer")
    if to in TOKENS_BY_ADDRESS:
        return run_token_call(state, to, sender, payload, value)  # checks before it changes
    state.add_eth(sender, -value)
    state.add_eth(to, value)
    return Effect(1, intrinsic_gas(payload))


def apply(state: State, sender: str, to: str | None, value: int, payload: bytes) -> Effect:
    """``execute``, with a revert turned into a status-0 effect (as a mined transaction)."""
    try:
        return execute(state, sender, to, value, payload)
    except Reverted as exc:
        return Effect(0, intrinsic_gas(payload) + REVERT_GAS, (), exc.data)
