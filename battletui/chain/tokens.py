"""The contracts deployed on the mock chain: two ERC-20 tokens and Multicall3.

The tokens sit where anvil puts the first two contracts that its first dev account deploys
(so tutorials' addresses work), Multicall3 at its canonical address on every chain. The chain
emulates their ABI (``calls.py``), not the EVM: ``eth_getCode`` returns a short stand-in
runtime so clients see a contract, and anything the emulation does not know reverts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.crypto import keccak

from battletui.chain.hexutil import data


@dataclass(frozen=True)
class TokenSpec:
    address: str
    name: str
    symbol: str
    decimals: int

    @property
    def unit(self) -> int:
        return int(10**self.decimals)


TOKENS: Final = (
    TokenSpec("0x5fbdb2315678afecb367f032d93f642f64180aa3", "battletui USD", "bUSD", 6),
    TokenSpec("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", "battletui Wrapped Ether", "bWETH", 18),
)
TOKENS_BY_ADDRESS: Final = {token.address: token for token in TOKENS}
MULTICALL3: Final = "0xca11bde05977b3631167028862be2a173976ca11"

DEV_TOKEN_BALANCE: Final = 1_000_000
"""Whole tokens each dev account holds at the session's start."""
ACTIVITY_TOKEN_BALANCE: Final = 1_000_000_000

TRANSFER_TOPIC: Final = data(keccak(text="Transfer(address,address,uint256)"))
APPROVAL_TOPIC: Final = data(keccak(text="Approval(address,address,uint256)"))


def selector(signature: str) -> bytes:
    return bytes(function_signature_to_4byte_selector(signature))


TRANSFER: Final = selector("transfer(address,uint256)")
APPROVE: Final = selector("approve(address,uint256)")
TRANSFER_FROM: Final = selector("transferFrom(address,address,uint256)")
BALANCE_OF: Final = selector("balanceOf(address)")
ALLOWANCE: Final = selector("allowance(address,address)")
TOTAL_SUPPLY: Final = selector("totalSupply()")
DECIMALS: Final = selector("decimals()")
SYMBOL: Final = selector("symbol()")
NAME: Final = selector("name()")

AGGREGATE3: Final = selector("aggregate3((address,bool,bytes)[])")
AGGREGATE: Final = selector("aggregate((address,bytes)[])")
TRY_AGGREGATE: Final = selector("tryAggregate(bool,(address,bytes)[])")
GET_ETH_BALANCE: Final = selector("getEthBalance(address)")
GET_BLOCK_NUMBER: Final = selector("getBlockNumber()")
GET_CHAIN_ID: Final = selector("getChainId()")
GET_BASEFEE: Final = selector("getBasefee()")
GET_CURRENT_BLOCK_TIMESTAMP: Final = selector("getCurrentBlockTimestamp()")


def stand_in_code(address: str) -> str:
    """A short runtime for ``eth_getCode``: Solidity's usual prologue, then a marker that
    names the contract (the emulation answers calls, this code is never run)."""
    marker = keccak(text=f"battletui mock contract {address}")
    return data(bytes.fromhex("6080604052348015600f57600080fd5b50") + b"\xfe" + marker)


CONTRACT_ADDRESSES: Final = frozenset({*TOKENS_BY_ADDRESS, MULTICALL3})
