"""Small JSON-RPC and TCP probes the chaos checks share (fresh connection each time)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import aiohttp

VERIFY_DEADLINE = 2.0
LATENCY_SLACK = 0.005
"""Timer and scheduling slack allowed when checking that added latency is really there."""
HOST = "127.0.0.1"


class ChaosError(RuntimeError):
    """The fault could not be applied or could not be verified."""


def params_for(method: str) -> list[object]:
    if method == "eth_getLogs":
        return [{"fromBlock": "latest", "toBlock": "latest"}]
    if method in ("eth_getBlockByNumber",):
        return ["latest", False]
    return []


async def rpc(
    http: aiohttp.ClientSession, url: str, method: str, *, timeout: float = VERIFY_DEADLINE
) -> tuple[int, dict[str, object], float, Mapping[str, str]]:
    """One JSON-RPC call on a fresh connection: (status, body, seconds, headers)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params_for(method)}
    start = time.monotonic()
    async with http.post(
        url,
        json=body,
        timeout=aiohttp.ClientTimeout(total=timeout),
        headers={"Connection": "close"},
    ) as response:
        raw = await response.read()
        elapsed = time.monotonic() - start
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = {}
        return (
            response.status,
            answer if isinstance(answer, dict) else {},
            elapsed,
            response.headers,
        )


async def head_of(http: aiohttp.ClientSession, url: str) -> int:
    status, answer, _, _ = await rpc(http, url, "eth_blockNumber")
    result = answer.get("result")
    if status != 200 or not isinstance(result, str):
        raise ChaosError(f"eth_blockNumber answered HTTP {status}: {answer.get('error')}")
    return int(result, 16)


async def block_hashes(
    http: aiohttp.ClientSession, url: str, numbers: range
) -> dict[int, str | None]:
    batch = [
        {"jsonrpc": "2.0", "id": n, "method": "eth_getBlockByNumber", "params": [hex(n), False]}
        for n in numbers
    ]
    async with http.post(
        url, json=batch, timeout=aiohttp.ClientTimeout(total=VERIFY_DEADLINE)
    ) as response:
        answers = await response.json()
    hashes: dict[int, str | None] = {}
    for answer in answers if isinstance(answers, list) else []:
        result = answer.get("result")
        hashes[int(answer["id"])] = result.get("hash") if isinstance(result, dict) else None
    return hashes
