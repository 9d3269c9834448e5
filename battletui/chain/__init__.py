"""The deterministic mock chain: blocks, hashes, parent links, logs and reorgs, from a seed.

Knows nothing of sockets or the UI; the providers serve it over JSON-RPC.
"""

from battletui.chain.block import EMPTY_TRIE_ROOT, EMPTY_UNCLES_HASH, ZERO_HASH, Block
from battletui.chain.hexutil import data, quantity
from battletui.chain.logs import Log
from battletui.chain.mock_chain import MAX_REORG_DEPTH, MockChain, ReorgListener, Replaced

__all__ = [
    "EMPTY_TRIE_ROOT",
    "EMPTY_UNCLES_HASH",
    "MAX_REORG_DEPTH",
    "ZERO_HASH",
    "Block",
    "Log",
    "MockChain",
    "ReorgListener",
    "Replaced",
    "data",
    "quantity",
]
