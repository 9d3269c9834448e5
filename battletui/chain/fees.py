"""Base fees of the mock chain, and the reward percentiles of ``eth_feeHistory``.

The base fee is a pure function of the block (so any block, and any replica of the chain, has
it without history): a slow wave between ~5 and ~19 gwei with a few percent of noise, so
consecutive blocks differ by far less than EIP-1559's 12.5 % bound and ``eth_feeHistory``
looks like a real chain's.
"""

from __future__ import annotations

import math
from typing import Final

from battletui.chain.derive import derive_int

GWEI: Final = 10**9
BASE_FEE_MEAN: Final = 12 * GWEI
BASE_FEE_WAVE: Final = 0.6
BASE_FEE_PERIOD: Final = 240
"""Blocks per wave of the base fee."""
NOISE_PER_MILLE: Final = 30


def base_fee(seed: int, chain_id: int, label: str, number: int) -> int:
    """The base fee of block ``number`` (``label`` carries the reorg generation)."""
    wave = 1.0 + BASE_FEE_WAVE * math.sin(2 * math.pi * number / BASE_FEE_PERIOD)
    noise = derive_int(seed, chain_id, label, number, -NOISE_PER_MILLE, NOISE_PER_MILLE + 1)
    return int(BASE_FEE_MEAN * wave * (1000 + noise) / 1000)


def percentile(values: list[int], percent: float) -> int:
    """geth's reward percentile over ascending ``values`` (0 when there are none)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(percent / 100 * len(ordered)) - 1))
    return ordered[rank]
