"""World state after one block: ether balances, nonces, token balances and allowances.

Only accounts away from zero are stored, so a state is a few dozen entries; each block's
state is a copy of its parent's with that block's transactions applied (``execution.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from battletui.chain.accounts import (
    ACTIVITY_BALANCE,
    DEV_BALANCE,
    ChainAccount,
)
from battletui.chain.tokens import ACTIVITY_TOKEN_BALANCE, DEV_TOKEN_BALANCE, TOKENS


class State:
    """Balances and nonces at the end of one block. Mutated only while that block is built."""

    __slots__ = ("allowances", "eth", "nonces", "supply", "tokens")

    def __init__(self) -> None:
        self.eth: dict[str, int] = {}
        self.nonces: dict[str, int] = {}
        self.tokens: dict[tuple[str, str], int] = {}
        self.allowances: dict[tuple[str, str, str], int] = {}
        self.supply: dict[str, int] = {}

    def copy(self) -> State:
        out = State()
        out.eth = dict(self.eth)
        out.nonces = dict(self.nonces)
        out.tokens = dict(self.tokens)
        out.allowances = dict(self.allowances)
        out.supply = dict(self.supply)
        return out

    def balance(self, address: str) -> int:
        return self.eth.get(address, 0)

    def nonce(self, address: str) -> int:
        return self.nonces.get(address, 0)

    def token_balance(self, token: str, holder: str) -> int:
        return self.tokens.get((token, holder), 0)

    def allowance(self, token: str, owner: str, spender: str) -> int:
        return self.allowances.get((token, owner, spender), 0)

    def total_supply(self, token: str) -> int:
        return self.supply.get(token, 0)

    def add_eth(self, address: str, amount: int) -> None:
        self.eth[address] = self.eth.get(address, 0) + amount

    def move_tokens(self, token: str, sender: str, receiver: str, amount: int) -> None:
        self.tokens[(token, sender)] = self.tokens.get((token, sender), 0) - amount
        self.tokens[(token, receiver)] = self.tokens.get((token, receiver), 0) + amount


def genesis_state(
    dev: Iterable[ChainAccount], activity: Iterable[ChainAccount], activity_nonces: list[int]
) -> State:
    """The state the session starts from: dev and activity accounts funded in ether and in
    both tokens; the activity accounts' nonces count their transactions before the start."""
    state = State()
    holders = [(account, DEV_BALANCE, DEV_TOKEN_BALANCE) for account in dev]
    holders += [(account, ACTIVITY_BALANCE, ACTIVITY_TOKEN_BALANCE) for account in activity]
    for account, wei, whole_tokens in holders:
        state.eth[account.address] = wei
        for token in TOKENS:
            amount = whole_tokens * token.unit
            state.tokens[(token.address, account.address)] = amount
            state.supply[token.address] = state.supply.get(token.address, 0) + amount
    for account, nonce in zip(activity, activity_nonces, strict=True):
        if nonce:
            state.nonces[account.address] = nonce
    return state
