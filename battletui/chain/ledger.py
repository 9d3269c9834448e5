"""Bodies, receipts, state and the transaction pool of the mock chain.

* **Bodies** (``body``): a block's background transactions (``activity.py``, signed here),
  then the users' transactions the pool put in it, with receipts, logs and the logs bloom.
* **State** (``state_at``): built block by block from ``STATE_AT_START`` blocks before the
  session's first block (the genesis allocation, ``state.py``), so a dapp that reads a recent
  block right after start-up finds it as on a synced node, and kept for the last
  ``STATE_WINDOW`` blocks, as a geth node without an archive keeps recent state; older state
  is "missing trie node". A reorg drops
  the state from its fork point, which is then rebuilt on the new branch.
* **Pool** (``submit``): a signed raw transaction is checked (signature, chain id, nonce,
  fees, balance) against the head and goes into the next block, which every provider of the
  chain then serves (one shared mempool).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from battletui.chain import activity
from battletui.chain.accounts import activity_accounts, dev_accounts
from battletui.chain.bloom import bloom_bits, bloom_hex, log_items
from battletui.chain.execution import (
    APPROVE_GAS,
    TRANSFER_GAS,
    TX_GAS,
    Effect,
    apply,
    intrinsic_gas,
)
from battletui.chain.logs import Log
from battletui.chain.state import State, genesis_state
from battletui.chain.transactions import (
    Inclusion,
    InvalidTransaction,
    Receipt,
    Transaction,
    decode_raw,
    sign_dynamic_fee,
)

STATE_WINDOW: Final = 256
"""Blocks of state kept below the head (a reorg is at most this deep)."""
STATE_AT_START: Final = 128
"""Blocks below the first one whose state exists from the start (geth's in-memory 128)."""
MAX_USER_TRANSACTIONS: Final = 100_000
"""Users' transactions a session accepts (kept for the whole session: they are history)."""
TX_INDEX_SIZE: Final = 65_536
BLOCK_GAS_LIMIT: Final = 30_000_000


class MissingState(LookupError):
    """State asked for a block outside the kept window."""


class TxRejected(ValueError):
    """A raw transaction the pool refuses, with geth's message."""


@dataclass(frozen=True)
class Body:
    """A block's transactions and what they did."""

    transactions: tuple[Transaction, ...]
    receipts: tuple[Receipt, ...]
    gas_used: int
    logs_bloom: str

    @property
    def logs(self) -> tuple[Log, ...]:
        return tuple(log for receipt in self.receipts for log in receipt.logs)


EMPTY_BODY: Final = Body((), (), 0, bloom_hex(0))


class Ledger:
    """The part of the chain that is not the headers. ``hash_of`` and ``base_fee_of`` are the
    chain's (pure, branch-aware); ``head`` its current head number."""

    def __init__(
        self,
        seed: int,
        chain_id: int,
        first_block: int,
        *,
        hash_of: Callable[[int], str],
        base_fee_of: Callable[[int], int],
        head: Callable[[], int],
    ) -> None:
        self.seed, self.chain_id, self.first_block = seed, chain_id, first_block
        self.origin = max(0, first_block - STATE_AT_START)
        self._hash_of, self._base_fee_of, self._head = hash_of, base_fee_of, head
        self.activity = activity_accounts(seed, chain_id)
        self.dev = dev_accounts()
        nonces = [
            activity.nonce_after(seed, chain_id, i, self.origin) for i in range(len(self.activity))
        ]
        self._states: dict[int, State] = {
            self.origin: genesis_state(self.dev, self.activity, nonces)
        }
        self._user: dict[int, list[Transaction]] = {}
        self._user_block: dict[str, int] = {}
        self._user_effects: dict[int, list[Effect]] = {}
        self._tx_index: OrderedDict[str, int] = OrderedDict()
        self._listeners: list[Callable[[Transaction], None]] = []
        self.user_transactions = 0

    # -- state -----------------------------------------------------------------------------

    @property
    def oldest_state(self) -> int:
        return min(self._states)

    def state_at(self, number: int) -> State:
        """The state once block ``number`` is mined; ``MissingState`` outside the window."""
        if number < self.origin:
            raise MissingState(number)
        self.advance(number)
        state = self._states.get(number)
        if state is None:
            raise MissingState(number)
        return state

    def advance(self, number: int) -> None:
        """Build the state up to block ``number`` (at most the head) and prune old blocks."""
        built = max(self._states)
        target = min(number, self._head())
        for n in range(built + 1, target + 1):
            self._states[n] = self._next_state(self._states[n - 1], n)
        floor = max(self._states) - STATE_WINDOW
        for n in [n for n in self._states if n < floor]:
            del self._states[n]

    def forget_from(self, fork: int) -> None:
        """A reorg replaced blocks ``fork`` and up: their state and indexed hashes go."""
        for n in [n for n in self._states if n >= fork and n > self.origin]:
            del self._states[n]
        for n in [n for n in self._user_effects if n >= fork]:
            del self._user_effects[n]
        for tx_hash in [h for h, n in self._tx_index.items() if n >= fork]:
            del self._tx_index[tx_hash]

    def _next_state(self, parent: State, number: int) -> State:
        state = parent.copy()
        base = self._base_fee_of(number)
        for plan in activity.plans(self.seed, self.chain_id, number, self._hash_of(number)):
            sender = self.activity[plan.sender].address
            counterpart = self.activity[plan.counterpart].address
            gas = self._plan_gas(plan, plan.payload(counterpart))
            state.add_eth(sender, -gas * (base + plan.tip))
            state.nonces[sender] = plan.nonce + 1
            token = plan.token.address
            if plan.approve:
                state.allowances[(token, sender, counterpart)] = plan.amount
            elif state.token_balance(token, sender) >= plan.amount:
                state.move_tokens(token, sender, counterpart, plan.amount)
        effects = []
        for tx in self._user.get(number, ()):
            effects.append(self._run_user(state, tx, base))
        if effects:
            self._user_effects[number] = effects
        return state

    @staticmethod
    def _plan_gas(plan: activity.Plan, payload: bytes) -> int:
        return (APPROVE_GAS if plan.approve else TRANSFER_GAS) + intrinsic_gas(payload) - TX_GAS

    @staticmethod
    def _run_user(state: State, tx: Transaction, base: int) -> Effect:
        price = tx.effective_gas_price(base)
        trial = state.copy()
        trial.nonces[tx.sender] = tx.nonce + 1
        effect = apply(trial, tx.sender, tx.to, tx.value, tx.input)
        if effect.gas_used > tx.gas:  # out of gas: only the fee and the nonce stick
            effect = Effect(0, tx.gas)
            trial = state.copy()
            trial.nonces[tx.sender] = tx.nonce + 1
        trial.add_eth(tx.sender, -effect.gas_used * price)
        state.eth, state.nonces, state.tokens = trial.eth, trial.nonces, trial.tokens
        state.allowances = trial.allowances
        return effect

    # -- bodies ----------------------------------------------------------------------------

    def body(self, number: int, block_hash: str) -> Body:
        """Block ``number``'s transactions and receipts (``block_hash`` is its current hash)."""
        plans = activity.plans(self.seed, self.chain_id, number, block_hash)
        users = self._user.get(number, ())
        if not plans and not users:
            return EMPTY_BODY
        base = self._base_fee_of(number)
        outcomes: list[tuple[Transaction, Effect]] = []
        for plan in plans:
            sender = self.activity[plan.sender]
            counterpart = self.activity[plan.counterpart].address
            payload = plan.payload(counterpart)
            tx = sign_dynamic_fee(
                sender.key,
                chain_id=self.chain_id,
                nonce=plan.nonce,
                max_priority_fee_per_gas=plan.tip,
                max_fee_per_gas=2 * base + plan.tip,
                gas=activity.GAS_LIMIT,
                to=plan.token.address,
                value=0,
                payload=payload,
            )
            effect = apply(_PlanState(plan, sender.address), sender.address, tx.to, 0, payload)
            outcomes.append((tx, Effect(1, self._plan_gas(plan, payload), effect.logs)))
        if users:
            self.state_at(number)  # runs the users' transactions
            outcomes += zip(users, self._user_effects[number], strict=True)
        return self._assemble(number, block_hash, base, outcomes)

    def _assemble(
        self, number: int, block_hash: str, base: int, outcomes: list[tuple[Transaction, Effect]]
    ) -> Body:
        receipts, cumulative, log_index, block_bits = [], 0, 0, 0
        for index, (tx, effect) in enumerate(outcomes):
            where = Inclusion(number, block_hash, index, tx.effective_gas_price(base))
            logs = []
            for emitted in effect.logs:
                logs.append(
                    Log(
                        address=emitted.address,
                        topics=emitted.topics,
                        data=emitted.data,
                        block_number=number,
                        block_hash=block_hash,
                        transaction_hash=tx.hash,
                        transaction_index=index,
                        log_index=log_index,
                    )
                )
                log_index += 1
            bits = bloom_bits(item for log in logs for item in log_items(log.address, log.topics))
            block_bits |= bits
            cumulative += effect.gas_used
            receipts.append(
                Receipt(
                    tx,
                    where,
                    effect.status,
                    effect.gas_used,
                    cumulative,
                    tuple(logs),
                    bloom_hex(bits),
                )
            )
            self._index(tx.hash, number)
        transactions = tuple(tx for tx, _ in outcomes)
        return Body(transactions, tuple(receipts), cumulative, bloom_hex(block_bits))

    def _index(self, tx_hash: str, number: int) -> None:
        self._tx_index[tx_hash] = number
        self._tx_index.move_to_end(tx_hash)
        while len(self._tx_index) > TX_INDEX_SIZE:
            self._tx_index.popitem(last=False)

    def block_of(self, tx_hash: str) -> int | None:
        """The block a transaction is in (or is going into), if known."""
        wanted = tx_hash.lower()
        number = self._user_block.get(wanted)
        return number if number is not None else self._tx_index.get(wanted)

    # -- the pool --------------------------------------------------------------------------

    def on_transaction(self, listener: Callable[[Transaction], None]) -> Callable[[], None]:
        """Call ``listener`` with every transaction the pool accepts."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def pending(self) -> list[Transaction]:
        """Accepted transactions not yet in a block at or below the head."""
        head = self._head()
        return [tx for n, txs in self._user.items() if n > head for tx in txs]

    def pending_nonce(self, address: str, head: int) -> int:
        nonce = self.state_at(head).nonce(address)
        return nonce + sum(
            1 for n, txs in self._user.items() if n > head for tx in txs if tx.sender == address
        )

    def submit(self, raw: bytes) -> Transaction:
        """Check ``raw`` and put it into the next block; raises ``TxRejected``."""
        try:
            tx = decode_raw(raw)
        except InvalidTransaction as exc:
            raise TxRejected(str(exc)) from None
        self._check_form(tx)
        head = self._head()
        target = head + 1
        self._check_fees(tx, target)
        self._check_nonce(tx, head)
        self._check_funds(tx, head)
        self._user.setdefault(target, []).append(tx)
        self._user_block[tx.hash] = target
        self.user_transactions += 1
        for listener in list(self._listeners):
            listener(tx)
        return tx

    def _check_form(self, tx: Transaction) -> None:
        """What geth rejects before looking at the state: chain id, duplicates, a full
        pool, contract creation and gas outside the limits."""
        if tx.chain_id is None:
            raise TxRejected("only replay-protected (EIP-155) transactions allowed over RPC")
        if tx.chain_id != self.chain_id:
            raise TxRejected(
                f"invalid chain id for signer: have {tx.chain_id} want {self.chain_id}"
            )
        if tx.hash in self._user_block:
            raise TxRejected("already known")
        if self.user_transactions >= MAX_USER_TRANSACTIONS:
            raise TxRejected("txpool is full")
        if tx.to is None:
            raise TxRejected("contract creation is not supported by the battletui mock chain")
        need = intrinsic_gas(tx.input)
        if tx.gas < need:
            raise TxRejected(f"intrinsic gas too low: gas {tx.gas}, minimum needed {need}")
        if tx.gas > BLOCK_GAS_LIMIT:
            raise TxRejected("exceeds block gas limit")

    def _check_fees(self, tx: Transaction, target: int) -> None:
        """The fee caps against each other and against block ``target``'s base fee."""
        if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
            raise TxRejected(
                f"max priority fee per gas higher than max fee per gas: address {tx.sender}, "
                f"maxPriorityFeePerGas: {tx.max_priority_fee_per_gas}, "
                f"maxFeePerGas: {tx.max_fee_per_gas}"
            )
        base = self._base_fee_of(target)
        if tx.max_fee_per_gas < base:
            raise TxRejected(
                f"max fee per gas less than block base fee: address {tx.sender}, "
                f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {base}"
            )

    def _check_nonce(self, tx: Transaction, head: int) -> None:
        """The sender's next nonce, counting what the pool already holds for it."""
        expected = self.pending_nonce(tx.sender, head)
        if tx.nonce < expected:
            raise TxRejected(
                f"nonce too low: address {tx.sender}, tx: {tx.nonce} state: {expected}"
            )
        if tx.nonce > expected:
            raise TxRejected(
                f"nonce too high: address {tx.sender}, tx: {tx.nonce} state: {expected}"
            )

    def _check_funds(self, tx: Transaction, head: int) -> None:
        """The balance at ``head`` less what the sender's pending transactions may spend."""
        committed = sum(
            t.gas * t.max_fee_per_gas + t.value
            for n, txs in self._user.items()
            if n > head
            for t in txs
            if t.sender == tx.sender
        )
        balance = self.state_at(head).balance(tx.sender) - committed
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        if cost > balance:
            raise TxRejected(
                f"insufficient funds for gas * price + value: balance {max(0, balance)}, "
                f"tx cost {cost}, overshot {cost - max(0, balance)}"
            )

    def include(self, raw: bytes, number: int) -> Transaction:
        """Put a transaction the lab's pool accepted into block ``number`` unchecked (a replica
        of the chain follows its lab this way)."""
        tx = decode_raw(raw)
        if tx.hash in self._user_block:
            return tx
        self._user.setdefault(number, []).append(tx)
        self._user_block[tx.hash] = number
        self.user_transactions += 1
        for n in [n for n in self._states if n >= number]:
            del self._states[n]  # built before the news arrived: build again with it
        for n in [n for n in self._user_effects if n >= number]:
            del self._user_effects[n]
        return tx

    def included_in(self, tx_hash: str) -> int | None:
        return self._user_block.get(tx_hash)

    def user_history(self) -> list[tuple[bytes, int]]:
        """Every accepted transaction and its block, in acceptance order per block."""
        return [(tx.raw, n) for n, txs in sorted(self._user.items()) for tx in txs]

    def user_transaction(self, tx_hash: str) -> tuple[int, Transaction] | None:
        number = self._user_block.get(tx_hash.lower())
        if number is None:
            return None
        for tx in self._user[number]:
            if tx.hash == tx_hash.lower():
                return number, tx
        return None  # pragma: no cover - the two maps are kept together


class _PlanState(State):
    """Just enough state for a background transaction to emit its log (it always succeeds)."""

    def __init__(self, plan: activity.Plan, sender: str) -> None:
        super().__init__()
        self.tokens[(plan.token.address, sender)] = plan.amount
        self.tokens[(plan.token.address, "")] = 0
