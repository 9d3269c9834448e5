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

from eth_account import Account
from eth_keys.datatypes import PrivateKey

from battletui.chain.derive import derive

DEV_MNEMONIC: Final = "test test test test test test test test test test test junk"
DEV_ACCOUNT_COUNT: Final = 10
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

    @property
    def checksum(self) -> str:
        return PrivateKey(self.key).public_key.to_checksum_address()


@functools.cache
def dev_accounts() -> tuple[ChainAccount, ...]:
    """The ten dev accounts of ``DEV_MNEMONIC`` (BIP-44 ``m/44'/60'/0'/0/i``)."""
    Account.enable_unaudited_hdwallet_features()
    accounts = []
    for index in range(DEV_ACCOUNT_COUNT):
        derived = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        accounts.append(ChainAccount(derived.address.lower(), bytes(derived.key)))
    return tuple(accounts)


@functools.cache
def activity_accounts(seed: int, chain_id: int) -> tuple[ChainAccount, ...]:
    """The accounts that send the chain's background transactions (keys from the seed)."""
    accounts = []
    for index in range(ACTIVITY_ACCOUNT_COUNT):
        key = derive(seed, chain_id, "activity-key", index)
        address = PrivateKey(key).public_key.to_address()
        accounts.append(ChainAccount(address.lower(), key))
    return tuple(accounts)
