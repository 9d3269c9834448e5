"""The mock chain: deterministic hashes, parent links, a head driven by the clock, geth JSON."""

from __future__ import annotations

import re
from typing import cast

import pytest

from battletui.chain import EMPTY_TRIE_ROOT, ZERO_HASH, Block, MockChain, quantity
from battletui.chain.mock_chain import CACHE_SIZE
from battletui.protocol.jsonrpc import parse_quantity

HASH32 = re.compile(r"^0x[0-9a-f]{64}$")
QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
GETH_KEYS = {
    "baseFeePerGas", "blobGasUsed", "difficulty", "excessBlobGas", "extraData", "gasLimit",
    "gasUsed", "hash", "logsBloom", "miner", "mixHash", "nonce", "number",
    "parentBeaconBlockRoot", "parentHash", "receiptsRoot", "sha3Uncles", "size", "stateRoot",
    "timestamp", "totalDifficulty", "transactions", "transactionsRoot", "uncles",
    "withdrawals", "withdrawalsRoot",
}  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(seed: int = 7, **kwargs: object) -> tuple[MockChain, FakeClock]:
    clock = FakeClock()
    chain = MockChain(seed, clock=clock, genesis_timestamp=1_700_000_000, **kwargs)  # type: ignore[arg-type]
    return chain, clock


def test_same_seed_same_hashes_different_seed_differs() -> None:
    a, _ = make(seed=42)
    b, _ = make(seed=42)
    c, _ = make(seed=43)
    d = MockChain(42, chain_id=5, clock=FakeClock())
    for n in (0, 1, 999, 1000):
        assert a.block(n) == b.block(n)
        assert a.hash_of(n) != c.hash_of(n)
        assert a.hash_of(n) != d.hash_of(n)
        assert HASH32.match(a.hash_of(n))


def test_parent_links_and_genesis_parent() -> None:
    chain, _ = make()
    for n in range(1, 1001):
        block = chain.block(n)
        assert block is not None
        assert block.parent_hash == chain.hash_of(n - 1)
    genesis = chain.block(0)
    assert genesis is not None and genesis.parent_hash == ZERO_HASH


def test_head_advances_one_block_per_block_time() -> None:
    chain, clock = make(block_time=2.0, first_block=500)
    assert chain.head_number() == 500
    clock.now += 1.99
    assert chain.head_number() == 500
    clock.now += 0.01
    assert chain.head_number() == 501
    clock.now += 20
    assert chain.head().number == 511
    assert chain.head().parent_hash == chain.hash_of(510)


def test_future_and_negative_blocks_are_none() -> None:
    chain, clock = make()
    assert chain.block(1001) is None
    assert chain.block(-1) is None
    clock.now += 1
    assert chain.block(1001) is not None


def test_timestamps_follow_genesis_and_block_time() -> None:
    chain, clock = make(block_time=0.5)
    clock.now += 10
    head = chain.head()
    assert head.number == 1020
    assert head.timestamp == 1_700_000_000 + 10
    block = chain.block(1000)
    assert block is not None and block.timestamp == 1_700_000_000


def test_block_by_hash_finds_recent_blocks_and_rejects_unknown_and_future() -> None:
    chain, clock = make()
    clock.now += 5
    for n in (1005, 1000, 900):
        found = chain.block_by_hash(chain.hash_of(n).upper().replace("0X", "0x"))
        assert found is not None and found.number == n
    assert chain.block_by_hash("0x" + "ab" * 32) is None
    future = chain.hash_of(1006)
    assert chain.block_by_hash(future) is None
    clock.now += 1
    assert chain.block_by_hash(future) is not None


def test_cache_is_bounded_over_a_long_session() -> None:
    chain, clock = make(block_time=0.001)
    for _ in range(3 * CACHE_SIZE):
        clock.now += 0.001
        chain.head()
    assert len(chain._blocks) <= CACHE_SIZE
    assert len(chain._numbers_by_hash) <= CACHE_SIZE


def test_to_json_has_geth_shape() -> None:
    chain, _ = make()
    block = chain.block(1000)
    assert block is not None
    header = block.to_json()
    assert set(header) == GETH_KEYS
    assert list(header) == sorted(header)  # geth marshals keys alphabetically
    full = block.to_json(full_transactions=True)
    assert {k: v for k, v in full.items() if k != "transactions"} == {
        k: v for k, v in header.items() if k != "transactions"
    }
    # JSON values are typed ``object``: what each of the two lists holds, for the checks below
    full_transactions = cast("list[dict[str, object]]", full["transactions"])
    hashes = cast("list[str]", header["transactions"])
    assert [tx["hash"] for tx in full_transactions] == header["transactions"]
    for key in ("baseFeePerGas", "blobGasUsed", "difficulty", "excessBlobGas", "gasLimit",
                "gasUsed", "number", "size", "timestamp", "totalDifficulty"):  # fmt: skip
        assert QUANTITY.match(str(header[key])), key
    for key in ("hash", "mixHash", "parentBeaconBlockRoot", "parentHash", "receiptsRoot",
                "sha3Uncles", "stateRoot", "transactionsRoot", "withdrawalsRoot"):  # fmt: skip
        assert HASH32.match(str(header[key])), key
    assert re.match(r"^0x[0-9a-f]{40}$", str(header["miner"]))
    assert re.match(r"^0x[0-9a-f]{512}$", str(header["logsBloom"]))
    assert header["nonce"] == "0x0000000000000000"
    assert header["difficulty"] == "0x0" and header["totalDifficulty"] == "0x0"
    assert header["number"] == "0x3e8"
    assert header["hash"] == block.hash and header["parentHash"] == block.parent_hash
    assert header["uncles"] == [] and header["withdrawals"] == []
    assert all(HASH32.match(h) for h in hashes)
    assert (header["transactionsRoot"] == EMPTY_TRIE_ROOT) == (not header["transactions"])
    assert str(header["extraData"]).startswith("0x")
    assert parse_quantity(str(header["timestamp"])) == block.timestamp


def test_to_json_is_deterministic_per_seed() -> None:
    a, _ = make(seed=1)
    b, _ = make(seed=1)
    c, _ = make(seed=2)
    ja, jb, jc = (ch.block(999).to_json() for ch in (a, b, c))  # type: ignore[union-attr]
    assert ja == jb
    assert ja["stateRoot"] != jc["stateRoot"]


def test_block_is_frozen() -> None:
    block = Block(1, ZERO_HASH, ZERO_HASH, 0)
    with pytest.raises(AttributeError):
        block.number = 2  # type: ignore[misc]


def test_hex_helpers() -> None:
    assert quantity(0) == "0x0"
    assert quantity(1000) == "0x3e8"
    assert parse_quantity(quantity(1000)) == 1000
    with pytest.raises(ValueError):
        quantity(-1)


def test_invalid_construction() -> None:
    with pytest.raises(ValueError):
        MockChain(1, block_time=0)
    with pytest.raises(ValueError):
        MockChain(1, first_block=-1)
