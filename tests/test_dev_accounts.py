"""The dev accounts written out in battletui.chain.accounts are the mnemonic's own: the keys
anvil and hardhat fund, so a wallet set up for those chains signs for the mock one."""

from __future__ import annotations

from eth_account import Account

from battletui.chain.accounts import DEV_KEYS, DEV_MNEMONIC, dev_accounts


def test_the_written_out_dev_keys_are_derived_from_the_public_mnemonic() -> None:
    Account.enable_unaudited_hdwallet_features()
    derived = [
        Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        for index in range(len(DEV_KEYS))
    ]
    assert len(DEV_KEYS) == 10
    assert [(a.address.lower(), bytes(a.key)) for a in derived] == [
        (account.address, account.key) for account in dev_accounts()
    ]
