"""Transactions and receipts of the mock chain, and their JSON exactly as geth returns them.

Transactions are real signed EIP-1559 (or legacy / EIP-2930, when a user sends one)
transactions: the chain's own are signed here with eth-keys over an RLP payload built by the
``rlp`` library, a user's are decoded and their sender recovered by eth-account, so every
hash, signature and sender checks out in any client.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import rlp
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from battletui.chain.hexutil import data, quantity
from battletui.chain.logs import Log

DYNAMIC_FEE_TYPE: Final = 2
ACCESS_LIST_TYPE: Final = 1
LEGACY_TYPE: Final = 0


class InvalidTransaction(ValueError):
    """A raw transaction that cannot be decoded or whose signature does not recover."""


@dataclass(frozen=True)
class Transaction:
    """One signed transaction; ``to`` is None for a contract creation."""

    hash: str
    sender: str
    to: str | None
    nonce: int
    value: int
    input: bytes
    gas: int
    chain_id: int | None
    type: int
    max_fee_per_gas: int
    """For a legacy or access-list transaction: its gas price."""
    max_priority_fee_per_gas: int
    v: int
    r: int
    s: int
    access_list: tuple[object, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    def effective_gas_price(self, base_fee: int) -> int:
        """What each unit of gas costs in a block with ``base_fee`` (EIP-1559)."""
        if self.type == DYNAMIC_FEE_TYPE:
            return min(self.max_fee_per_gas, base_fee + self.max_priority_fee_per_gas)
        return self.max_fee_per_gas

    def tip(self, base_fee: int) -> int:
        return self.effective_gas_price(base_fee) - base_fee

    def to_json(self, where: Inclusion | None) -> dict[str, object]:
        """geth's RPCTransaction: in a block (``where``) or pending (None)."""
        out: dict[str, object] = {
            "blockHash": None if where is None else where.block_hash,
            "blockNumber": None if where is None else quantity(where.block_number),
            "from": self.sender,
            "gas": quantity(self.gas),
        }
        if self.type == DYNAMIC_FEE_TYPE:
            price = self.max_fee_per_gas if where is None else where.gas_price
            out["gasPrice"] = quantity(price)
            out["maxFeePerGas"] = quantity(self.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = quantity(self.max_priority_fee_per_gas)
        else:
            out["gasPrice"] = quantity(self.max_fee_per_gas)
        out["hash"] = self.hash
        out["input"] = data(self.input)
        out["nonce"] = quantity(self.nonce)
        out["to"] = self.to
        out["transactionIndex"] = None if where is None else quantity(where.index)
        out["value"] = quantity(self.value)
        out["type"] = quantity(self.type)
        if self.type != LEGACY_TYPE:
            out["accessList"] = list(self.access_list)
        if self.chain_id is not None:
            out["chainId"] = quantity(self.chain_id)
        out["v"] = quantity(self.v)
        out["r"] = quantity(self.r)
        out["s"] = quantity(self.s)
        if self.type != LEGACY_TYPE:
            out["yParity"] = quantity(self.v)
        return out


@dataclass(frozen=True)
class Inclusion:
    """Where a transaction sits in the chain."""

    block_number: int
    block_hash: str
    index: int
    gas_price: int


@dataclass(frozen=True)
class Receipt:
    """A transaction's outcome in one block."""

    transaction: Transaction
    where: Inclusion
    status: int
    gas_used: int
    cumulative_gas_used: int
    logs: tuple[Log, ...]
    logs_bloom: str

    def to_json(self) -> dict[str, object]:
        return self._json

    @cached_property
    def _json(self) -> dict[str, object]:
        """geth's receipt map, keys in the alphabetical order geth's JSON encoder gives."""
        tx = self.transaction
        return {
            "blockHash": self.where.block_hash,
            "blockNumber": quantity(self.where.block_number),
            "contractAddress": None,
            "cumulativeGasUsed": quantity(self.cumulative_gas_used),
            "effectiveGasPrice": quantity(self.where.gas_price),
            "from": tx.sender,
            "gasUsed": quantity(self.gas_used),
            "logs": [log.to_json() for log in self.logs],
            "logsBloom": self.logs_bloom,
            "status": quantity(self.status),
            "to": tx.to,
            "transactionHash": tx.hash,
            "transactionIndex": quantity(self.where.index),
            "type": quantity(tx.type),
        }


def sign_dynamic_fee(
    key: bytes,
    *,
    chain_id: int,
    nonce: int,
    max_priority_fee_per_gas: int,
    max_fee_per_gas: int,
    gas: int,
    to: str,
    value: int,
    payload: bytes,
) -> Transaction:
    """Sign an EIP-1559 transaction (fast: one RLP encode, one coincurve signature)."""
    to_bytes = bytes.fromhex(to[2:])
    fields = [
        chain_id,
        nonce,
        max_priority_fee_per_gas,
        max_fee_per_gas,
        gas,
        to_bytes,
        value,
        payload,
        [],
    ]
    signing_hash = keccak(b"\x02" + rlp.encode(fields))
    private = _private_key(key)
    signature = private.sign_msg_hash(signing_hash)
    raw = b"\x02" + rlp.encode([*fields, signature.v, signature.r, signature.s])
    return Transaction(
        hash=data(keccak(raw)),
        sender=_address_of(key),
        to=to.lower(),
        nonce=nonce,
        value=value,
        input=payload,
        gas=gas,
        chain_id=chain_id,
        type=DYNAMIC_FEE_TYPE,
        max_fee_per_gas=max_fee_per_gas,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
        v=signature.v,
        r=signature.r,
        s=signature.s,
        raw=raw,
    )


@functools.lru_cache(maxsize=64)
def _private_key(key: bytes) -> PrivateKey:
    return PrivateKey(key)


@functools.lru_cache(maxsize=64)
def _address_of(key: bytes) -> str:
    return str(_private_key(key).public_key.to_address()).lower()


def _address(raw: bytes) -> str | None:
    if not raw:
        return None
    if len(raw) != 20:
        raise InvalidTransaction(f"bad recipient length {len(raw)}")
    return data(raw)


def _access_list(entries: object) -> tuple[object, ...]:
    """An access list as geth writes it: 20-byte addresses, 32-byte storage keys."""
    out: list[object] = []
    for entry in entries if isinstance(entries, list | tuple) else ():
        address, slots = (
            (entry["address"], entry["storageKeys"]) if isinstance(entry, dict) else entry
        )
        out.append(
            {
                "address": data(bytes(HexBytes(address)).rjust(20, b"\0")),
                "storageKeys": [data(bytes(HexBytes(slot)).rjust(32, b"\0")) for slot in slots],
            }
        )
    return tuple(out)


def decode_raw(raw: bytes) -> Transaction:
    """Decode a signed raw transaction (legacy, EIP-2930 or EIP-1559) and recover its sender."""
    if not raw:
        raise InvalidTransaction("empty transaction")
    # imported here: eth-account costs a second at import, and most processes that load the
    # chain never decode a transaction (the lab warms it up once it is serving)
    from eth_account import Account

    try:
        sender = Account.recover_transaction(raw).lower()
    except Exception as exc:  # eth-account raises many kinds for malformed input
        raise InvalidTransaction(f"invalid transaction: {exc}") from None
    tx_hash = data(keccak(raw))
    try:
        if raw[0] > 0x7F:
            return _legacy(raw, tx_hash, sender)
        typed = _typed_fields(raw)
    except Exception as exc:
        raise InvalidTransaction(f"invalid transaction: {exc}") from None
    return _typed(raw, typed, tx_hash, sender)


def _legacy(raw: bytes, tx_hash: str, sender: str) -> Transaction:
    """A legacy transaction: RLP fields, the chain id folded into ``v`` (EIP-155)."""
    nonce, gas_price, gas, to, value, payload, v, r, s = rlp.decode(raw)
    v_int = int.from_bytes(v, "big")
    chain_id = (v_int - 35) // 2 if v_int >= 35 else None
    return Transaction(
        hash=tx_hash,
        sender=sender,
        to=_address(to),
        nonce=int.from_bytes(nonce, "big"),
        value=int.from_bytes(value, "big"),
        input=bytes(payload),
        gas=int.from_bytes(gas, "big"),
        chain_id=chain_id,
        type=LEGACY_TYPE,
        max_fee_per_gas=int.from_bytes(gas_price, "big"),
        max_priority_fee_per_gas=int.from_bytes(gas_price, "big"),
        v=v_int,
        r=int.from_bytes(r, "big"),
        s=int.from_bytes(s, "big"),
        raw=raw,
    )


def _typed_fields(raw: bytes) -> dict[str, Any]:
    """The fields of a typed (EIP-2718) transaction, as eth-account reads them."""
    from eth_account.typed_transactions.typed_transaction import TypedTransaction

    return TypedTransaction.from_bytes(HexBytes(raw)).as_dict()


def _typed(raw: bytes, typed: dict[str, Any], tx_hash: str, sender: str) -> Transaction:
    """An EIP-2930 or EIP-1559 transaction from its decoded fields."""
    kind = int(typed["type"])
    if kind not in (ACCESS_LIST_TYPE, DYNAMIC_FEE_TYPE):
        raise InvalidTransaction("transaction type not supported")
    to_field = typed.get("to") or b""
    fee = typed["maxFeePerGas"] if kind == DYNAMIC_FEE_TYPE else typed["gasPrice"]
    tip = typed["maxPriorityFeePerGas"] if kind == DYNAMIC_FEE_TYPE else typed["gasPrice"]
    return Transaction(
        hash=tx_hash,
        sender=sender,
        to=_address(bytes(to_field)),
        nonce=int(typed["nonce"]),
        value=int(typed["value"]),
        input=bytes(typed.get("data") or b""),
        gas=int(typed["gas"]),
        chain_id=int(typed["chainId"]),
        type=kind,
        max_fee_per_gas=int(fee),
        max_priority_fee_per_gas=int(tip),
        v=int(typed["v"]),
        r=int(typed["r"]),
        s=int(typed["s"]),
        access_list=_access_list(typed.get("accessList", ())),
        raw=raw,
    )
