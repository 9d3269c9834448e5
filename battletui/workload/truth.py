"""A replica of the session's chain, for judging answers: the same pure chain, fed the lab's
reorgs and users' transactions over its token-guarded ``/truth`` WebSocket.

The lab owns the canonical chain; it is a pure function of the seed and the machine's
monotonic clock, apart from what happens to it. So every process that judges answers (the
engine's WebSocket subscribers, each load worker) builds the same ``MockChain`` from the
scenario and the lab's ``hello`` (where the chain started), then applies the forks and
transactions the lab reports as they come. ``settled(t)`` says whether everything the lab
did before ``t`` has arrived: an answer is only called wrong once it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from battletui.chain import MockChain
from battletui.processes import cancel_and_wait

_log = logging.getLogger(__name__)

FEED_DELAY: Final = 0.5
"""Seconds an event may take from the lab to a replica (loopback: microseconds; this is a
generous bound, so an answer that saw a reorg first is never judged before the news)."""


CLOSE_TIMEOUT: Final = 2.0
"""Seconds a stopping replica waits for the lab to answer its closing handshake (a lab that
is stopping too may never answer; the replica's process must still end promptly)."""


class TruthError(RuntimeError):
    """The lab's truth feed could not be followed."""


class ChainReplica:
    """The replica and the task that keeps it in step with the lab."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        seed: int,
        chain_id: int,
        block_time: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._token = token
        self._seed, self._chain_id, self._block_time = seed, chain_id, block_time
        self._clock = clock
        self._chain: MockChain | None = None
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self.lost = False
        """The feed ended before ``stop``: the replica no longer follows the lab."""

    @property
    def chain(self) -> MockChain:
        if self._chain is None:
            raise TruthError("the replica has not started")
        return self._chain

    async def start(self, timeout: float = 10.0) -> None:
        """Connect, read the lab's history and build the replica from it."""
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with asyncio.timeout(timeout):
                self._socket = await connect(
                    self._url,
                    additional_headers=headers,
                    max_size=None,
                    compression=None,
                    close_timeout=CLOSE_TIMEOUT,
                )
                hello = json.loads(await self._socket.recv())
        except (OSError, TimeoutError, WebSocketException, ValueError) as error:
            raise TruthError(f"the lab's truth feed at {self._url}: {error}") from error
        self._chain = self._replica(hello)
        self._reader = asyncio.create_task(self._follow(), name="truth-feed")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        await cancel_and_wait(reader)
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
            self._socket = None

    def settled(self, when: float) -> bool:
        """Whether whatever the lab did before ``when`` has surely reached the replica."""
        return not self.lost and self._clock() >= when + FEED_DELAY

    def _replica(self, hello: dict[str, Any]) -> MockChain:
        chain = MockChain(
            self._seed,
            self._chain_id,
            self._block_time,
            clock=self._clock,
            first_block=int(hello["first_block"]),
            genesis_timestamp=int(hello["genesis_timestamp"]),
            origin=float(hello["origin"]),
        )
        for fork, at in hello["forks"]:
            chain.fork_at(int(fork), float(at))
        for raw, number in hello["transactions"]:
            chain.include_transaction(bytes.fromhex(str(raw)[2:]), int(number))
        return chain

    async def _follow(self) -> None:
        assert self._socket is not None and self._chain is not None
        try:
            async for message in self._socket:
                event = json.loads(message)
                if event.get("type") == "fork":
                    self._chain.fork_at(int(event["fork"]), float(event["at"]))
                elif event.get("type") == "transaction" and event.get("block") is not None:
                    raw = bytes.fromhex(str(event["raw"])[2:])
                    self._chain.include_transaction(raw, int(event["block"]))
        except (OSError, WebSocketException, ValueError) as error:
            _log.warning("the lab's truth feed ended: %s", error)
        self.lost = True
