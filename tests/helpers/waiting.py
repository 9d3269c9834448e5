"""The one way a test waits: on a condition, with a bounded deadline, never a bare sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

import pytest

DEFAULT_TIMEOUT = 5.0


async def wait_until(
    condition: Callable[[], bool] | Callable[[], Awaitable[bool]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.02,
    what: str = "",
) -> None:
    """Poll ``condition`` (plain or async) until it holds; fail the test naming ``what``
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await _holds(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)


async def _holds(condition: Callable[[], bool] | Callable[[], Awaitable[bool]]) -> bool:
    answer = condition()
    if inspect.isawaitable(answer):
        return bool(await answer)
    return bool(answer)
