"""The mock chain's accounts: the well-known dev accounts users sign with, and the seed's own
activity accounts that send the background traffic.

The dev accounts are the ones every local dev chain (anvil, hardhat) funds, from the public
mnemonic ``test test ... junk``, so wallets and scripts written for those chains work as they
are. Their keys are public: never use them outside a test chain. The activity accounts are
derived from the seed; only the chain signs with them, so their nonces follow a formula and a
user's transactions can never collide with the background traffic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from eth_keys.datatypes import PrivateKey

from battletui.chain.derive import derive

DEV_MNEMONIC: Final = "test test test test test test test test test test test junk"
DEV_KEYS: Final[tuple[tuple[str, str], ...]] = (
    (
        "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    ),
    (
        "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    ),
    (
        "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
        "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    ),
    (
        "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
        "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    ),
    (
        "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
        "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    ),
    (
        "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc",
        "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    ),
    (
        "0x976ea74026e726554db657fa54763abd0c3a0aa9",
        "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    ),
    (
        "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
        "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    ),
    (
        "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f",
        "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    ),
    (
        "0xa0ee7a142d267c1f36714e4a8f75612f20a79720",
        "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    ),
)
"""Address and key of ``DEV_MNEMONIC``'s first ten BIP-44 accounts (``m/44'/60'/0'/0/i``),
as anvil and hardhat list them. Written out, not derived: deriving them needs eth-account,
whose import costs every process that builds the chain a second at start-up (the lab, each
load worker, the engine); tests/test_dev_accounts.py derives them and compares."""
DEV_BALANCE: Final = 10_000 * 10**18
"""Wei each dev account holds at the session's start (10,000 ETH, as anvil)."""

ACTIVITY_ACCOUNT_COUNT: Final = 8
ACTIVITY_BALANCE: Final = 1_000_000 * 10**18


@dataclass(frozen=True)
class ChainAccount:
    """An externally owned account whose key the chain knows."""

    address: str
    """Lowercase ``0x`` hex, as geth writes addresses in JSON."""
    key: bytes


@functools.cache
def dev_accounts() -> tuple[ChainAccount, ...]:
    """The ten dev accounts of ``DEV_MNEMONIC`` (BIP-44 ``m/44'/60'/0'/0/i``)."""
    return tuple(ChainAccount(address, bytes.fromhex(key)) for address, key in DEV_KEYS)


@functools.cache
def activity_accounts(seed: int, chain_id: int) -> tuple[ChainAccount, ...]:
    """The accounts that send the chain's background transactions (keys from the seed)."""
    accounts = []
    for index in range(ACTIVITY_ACCOUNT_COUNT):
        key = derive(seed, chain_id, "activity-key", index)
        address = PrivateKey(key).public_key.to_address()
        accounts.append(ChainAccount(address.lower(), key))
    return tuple(accounts)
