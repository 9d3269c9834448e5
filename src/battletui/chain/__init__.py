"""The deterministic mock chain: blocks, hashes and parent links, all from a seed.

Knows nothing of sockets or the UI; the providers serve it over JSON-RPC.
"""

from battletui.chain.block import EMPTY_TRIE_ROOT, EMPTY_UNCLES_HASH, ZERO_HASH, Block
from battletui.chain.hexutil import data, parse_quantity, quantity
from battletui.chain.mock_chain import MockChain

__all__ = [
    "EMPTY_TRIE_ROOT",
    "EMPTY_UNCLES_HASH",
    "ZERO_HASH",
    "Block",
    "MockChain",
    "data",
    "parse_quantity",
    "quantity",
]
