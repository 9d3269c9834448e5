"""Checking JSON-RPC arguments the way geth does, with geth's messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from battletui.protocol.jsonrpc import INVALID_PARAMS, parse_quantity
from battletui.providers.get_logs import resolve_block
from battletui.providers.jsonrpc import Params, RpcError
from battletui.providers.view import ChainView

SERVER_ERROR: Final = -32000
_HEX: Final = frozenset("0123456789abcdefABCDEF")


def args(params: Params, required: int, maximum: int) -> list[object]:
    """Positional arguments, checked the way geth checks them (arrays only, arity)."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise RpcError(INVALID_PARAMS, "non-array args")
    if len(params) > maximum:
        raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {maximum}")
    if len(params) < required:
        raise RpcError(INVALID_PARAMS, f"missing value for required argument {len(params)}")
    return params


def _hex_digits(value: object, argument: int, digits: int, kind: str) -> str:
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: hex string without 0x prefix")
    body = value[2:]
    if not set(body) <= _HEX:
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: invalid hex string")
    if len(body) != digits:
        raise RpcError(
            INVALID_PARAMS,
            f"invalid argument {argument}: hex string has length {len(body)}, want {digits}"
            f" for {kind}",
        )
    return "0x" + body.lower()


def address(value: object, argument: int) -> str:
    """A 20-byte address, lowercased."""
    return _hex_digits(value, argument, 40, "common.Address")


def hash32(value: object, argument: int) -> str:
    """A 32-byte hash, lowercased."""
    return _hex_digits(value, argument, 64, "common.Hash")


def hex_bytes(value: object, argument: int) -> bytes:
    """DATA: ``0x`` and an even number of hex digits."""
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: hex string without 0x prefix")
    body = value[2:]
    if len(body) % 2 or not set(body) <= _HEX:
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: invalid hex string")
    return bytes.fromhex(body)


def quantity_arg(value: object, argument: int, name: str = "") -> int:
    """A QUANTITY (or, where geth takes ``hexutil.Uint64`` or a number, a plain integer)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    number = parse_quantity(value)
    if number is not None:
        return number
    field = f" of {name}" if name else ""
    raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: bad quantity{field}")


def block_number(view: ChainView, value: object, argument: int) -> int:
    """A block tag, a number, or an EIP-1898 object (``blockNumber`` / ``blockHash``)."""
    head = view.head_number()
    if isinstance(value, dict):
        if "blockHash" in value:
            block = view.block_by_hash(hash32(value["blockHash"], argument))
            if block is None:
                raise RpcError(SERVER_ERROR, "header for hash not found")
            return block.number
        value = value.get("blockNumber")
    return resolve_block(value, head, argument=argument)


@dataclass(frozen=True)
class CallObject:
    """The transaction of an ``eth_call`` / ``eth_estimateGas``."""

    sender: str
    to: str | None
    value: int
    payload: bytes
    gas: int | None


ZERO_ADDRESS: Final = "0x" + "00" * 20


def call_object(value: object, argument: int = 0) -> CallObject:
    if not isinstance(value, dict):
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: transaction object expected")
    sender = value.get("from")
    to = value.get("to")
    data = value.get("data")
    inputs = value.get("input")
    if data is not None and inputs is not None and data != inputs:
        raise RpcError(
            INVALID_PARAMS,
            'both "data" and "input" are set and not equal. Please use "input" to pass'
            " transaction call data",
        )
    payload = inputs if inputs is not None else data
    gas = value.get("gas")
    return CallObject(
        sender=ZERO_ADDRESS if sender is None else address(sender, argument),
        to=None if to is None else address(to, argument),
        value=0 if value.get("value") is None else quantity_arg(value["value"], argument, "value"),
        payload=b"" if payload is None else hex_bytes(payload, argument),
        gas=None if gas is None else quantity_arg(gas, argument, "gas"),
    )
