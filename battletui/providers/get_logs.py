"""``eth_getLogs`` over the mock chain's logs, with geth's filter semantics.

Params: one filter object ``{"fromBlock", "toBlock", "address", "topics"}`` (block numbers
as hex or tags, both defaulting to ``latest``) or ``{"blockHash", "address", "topics"}``.

* ``address``: one address or a list (any of them); absent or empty = every address.
* ``topics``: up to 4 positions; each null/empty list (any), a hash, or a list of hashes
  (any of them). A log with fewer topics than positions does not match (as in geth).
* ``toBlock`` beyond the provider's head is clamped to it; ``fromBlock`` beyond the head
  gives ``[]``; ``fromBlock > toBlock`` fails with -32000 "invalid block range params".
* The range is limited: more than ``MAX_LOG_RANGE`` blocks fail with -32602
  "block range too large: N blocks, at most 1000" (a client error: every provider would
  refuse it, so a gateway must not count it against the provider).
* ``blockHash`` of a block the provider does not know: -32000 "unknown block".
"""

from __future__ import annotations

from typing import Final

from battletui.chain import Log
from battletui.protocol.jsonrpc import INVALID_PARAMS, parse_quantity
from battletui.providers.jsonrpc import Params, RpcError
from battletui.providers.view import ChainView

MAX_LOG_RANGE: Final = 1000
MAX_TOPICS: Final = 4
SERVER_ERROR: Final = -32000
SAFE_DEPTH: Final = 32
FINALIZED_DEPTH: Final = 64

_HEX: Final = frozenset("0123456789abcdefABCDEF")


def _bad(detail: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid argument 0: {detail}")


def _hex_of(value: object, digits: int, kind: str) -> str:
    """``value`` as lowercase hex of exactly ``digits`` digits, or invalid params."""
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise _bad(f"expected a 0x-prefixed hex string for {kind}")
    body = value[2:]
    if len(body) != digits:
        raise _bad(f"hex string has length {len(body)}, want {digits} for {kind}")
    if not set(body) <= _HEX:
        raise _bad(f"invalid hex string for {kind}")
    return "0x" + body.lower()


def resolve_block(tag: object, head: int, *, argument: int = 0) -> int:
    """A block number for a tag or hex quantity, relative to ``head`` (earliest is 0)."""
    if not isinstance(tag, str):
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: block number or tag expected")
    named = {
        "latest": head,
        "pending": head,
        "earliest": 0,
        "safe": max(0, head - SAFE_DEPTH),
        "finalized": max(0, head - FINALIZED_DEPTH),
    }
    if tag in named:
        return named[tag]
    number = parse_quantity(tag)
    if number is None:
        raise RpcError(INVALID_PARAMS, f"invalid argument {argument}: bad block number {tag!r}")
    return number


def parse_addresses(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    found = frozenset(_hex_of(item, 40, "common.Address") for item in items)
    return found or None


def parse_topics(value: object) -> list[frozenset[str] | None]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad("topics must be an array")
    if len(value) > MAX_TOPICS:
        raise _bad("exceed max topics")
    positions: list[frozenset[str] | None] = []
    for position in value:
        if position is None:
            positions.append(None)
            continue
        items = position if isinstance(position, list) else [position]
        wanted = frozenset(_hex_of(item, 64, "common.Hash") for item in items if item is not None)
        wildcard = not wanted or any(item is None for item in items)
        positions.append(None if wildcard else wanted)
    return positions


def log_matches(
    log: Log, addresses: frozenset[str] | None, topics: list[frozenset[str] | None]
) -> bool:
    if addresses is not None and log.address not in addresses:
        return False
    if len(topics) > len(log.topics):
        return False
    return all(wanted is None or log.topics[i] in wanted for i, wanted in enumerate(topics))


def get_logs(view: ChainView, params: Params) -> list[dict[str, object]]:
    """Answer ``eth_getLogs`` on ``view``."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise RpcError(INVALID_PARAMS, "non-array args")
    if not params:
        raise RpcError(INVALID_PARAMS, "missing value for required argument 0")
    if len(params) > 1:
        raise RpcError(INVALID_PARAMS, "too many arguments, want at most 1")
    criteria = params[0]
    if not isinstance(criteria, dict):
        raise _bad("filter criteria must be an object")
    addresses = parse_addresses(criteria.get("address"))
    topics = parse_topics(criteria.get("topics"))
    head = view.head_number()

    block_hash = criteria.get("blockHash")
    if block_hash is not None:
        if criteria.get("fromBlock") is not None or criteria.get("toBlock") is not None:
            raise _bad(
                "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
            )
        block = view.block_by_hash(_hex_of(block_hash, 64, "common.Hash"))
        if block is None:
            raise RpcError(SERVER_ERROR, "unknown block")
        first = last = block.number
    else:
        first = resolve_block(criteria.get("fromBlock", "latest") or "latest", head)
        asked_last = resolve_block(criteria.get("toBlock", "latest") or "latest", head)
        if first > head:
            return []
        if first > asked_last:
            raise RpcError(SERVER_ERROR, "invalid block range params")
        last = min(asked_last, head)
        span = last - first + 1
        if span > MAX_LOG_RANGE:
            raise RpcError(
                INVALID_PARAMS, f"block range too large: {span} blocks, at most {MAX_LOG_RANGE}"
            )
    # ``first..last`` is within the view's head (checked once above), so each block's logs
    # come straight from the chain's caches, with no head check (clock read) per block.
    chain = view.chain
    return [
        log.to_json()
        for number in range(first, last + 1)
        for log in chain.logs_at(number)
        if log_matches(log, addresses, topics)
    ]
