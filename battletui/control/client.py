"""Talking to a running session's control API: ``ControlClient`` and ``RemoteSessionLink``.

httpx for requests, ``websockets`` for the snapshot stream; neither is on the measured hot
path (that is the engine's own aiohttp workload). Every failure comes out as a
``ControlError`` with one line a person can act on, never a transport traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidStatus,
    WebSocketException,
)

from battletui.control.codec import CodecError, action_to_json, snapshot_from_json
from battletui.control.outcome import ActionOutcome, ActionSource
from battletui.metrics import Event, Snapshot
from battletui.processes import cancel_and_wait
from battletui.scenario import Action

TIMEOUT = 5.0
"""Seconds for reads; the engine answers them from memory."""
APPLY_TIMEOUT = 30.0
"""An action answers once verified (a hang or a degrade takes a moment to confirm)."""
FINISH_TIMEOUT = 300.0
"""Ending drains in-flight requests and writes the report: give it time."""
MAX_FRAME = 16 * 2**20
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)
"""Seconds between reconnect attempts of a lost stream: quick at first, then every 2 s."""
STREAM_SILENCE = 5.0
"""A stream that sends no frame for this long is dead (the engine sends several a second)."""
GIVE_UP_AFTER = 60.0
"""A viewer that cannot tell whether the engine lives stops reconnecting after this long."""
VIEWER_EVENTS = 50


class ControlError(Exception):
    """The control API could not do what was asked (one line)."""


class Unauthorized(ControlError):
    """401: the token is missing or is not this session's."""


class Unreachable(ControlError):
    """Nothing answers at the session's address: its engine is gone."""


class Rejected(ControlError):
    """400: the request or the action is invalid (the message says which field)."""


class SessionLost(ControlError):
    """The stream dropped without the session saying it ended: the engine went away."""


@dataclass(frozen=True)
class StreamEnd:
    """The session ended and is written; the stream closes after this."""

    session_dir: str | None
    exit_code: int | None


class ControlClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = self._new_http()

    def _new_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url, headers=self._headers, timeout=TIMEOUT, trust_env=False
        )

    async def forget_connections(self) -> None:
        """Open new connections from now on: after the stream died without a word, a kept-alive
        connection may be just as dead, and a request on it would wait out its whole timeout."""
        old, self._http = self._http, self._new_http()
        await old.aclose()

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def state(self) -> dict[str, Any]:
        return await self._call("GET", "/state")

    async def snapshot(self) -> Snapshot:
        data = await self._call("GET", "/snapshot")
        try:
            return snapshot_from_json(data)
        except CodecError as err:
            raise ControlError(
                f"the session sent a snapshot this viewer cannot read: {err}"
            ) from None

    async def apply(
        self, action: Action, source: ActionSource = "api", *, at: float | None = None
    ) -> ActionOutcome:
        """Send one action; ``Rejected`` if invalid, else its verified outcome."""
        body: dict[str, Any] = {**action_to_json(action), "source": source}
        if at is not None:
            body["at"] = at
        data = await self._call("POST", "/actions", body=body, timeout=APPLY_TIMEOUT)
        try:
            return ActionOutcome.from_json(data)
        except ValueError as err:
            raise ControlError(str(err)) from None

    async def finish(self, reason: str = "api") -> dict[str, Any]:
        """End the session and wait until it is written: ``{"session_dir", "exit_code"}``."""
        return await self._call("POST", "/finish", body={"reason": reason}, timeout=FINISH_TIMEOUT)

    async def snapshots(self) -> AsyncIterator[Snapshot]:
        """Snapshots as the engine streams them, until the session ends."""
        async for item in self.stream():
            if isinstance(item, Snapshot):
                yield item

    async def stream(self, *, silence: float | None = None) -> AsyncIterator[Snapshot | StreamEnd]:
        """Snapshots, then one ``StreamEnd``; ``SessionLost`` if the engine goes away first,
        or (``silence``) if no frame comes for that many seconds: the engine streams several
        a second, so a silent stream is a connection that died without a word."""
        address = "ws" + self.url.removeprefix("http") + "/stream"
        try:
            async with connect(
                address,
                additional_headers=self._headers,
                max_size=MAX_FRAME,
                open_timeout=TIMEOUT,
                close_timeout=1.0,
                proxy=None,
            ) as socket:
                while True:
                    text = await _next_frame(socket, silence, self.url)
                    message = json.loads(text)
                    if not isinstance(message, dict):
                        raise ValueError(f"expected a JSON object, got {text[:80]!r}")
                    if message.get("type") == "snapshot":
                        yield snapshot_from_json(message["snapshot"])
                    elif message.get("type") == "end":
                        yield StreamEnd(message.get("session_dir"), message.get("exit_code"))
                        return
        except InvalidStatus as err:
            status = err.response.status_code
            if status == 401:
                raise Unauthorized(self._refused()) from None
            raise ControlError(f"the session refused the stream ({status})") from None
        except (OSError, TimeoutError) as err:
            raise Unreachable(self._unreachable(err)) from None
        except (CodecError, ValueError, KeyError) as err:
            raise ControlError(f"unreadable message on the stream: {err}") from None
        except (ConnectionClosed, WebSocketException) as err:
            raise SessionLost(f"lost the session at {self.url} ({err})") from None

    async def _call(
        self, method: str, path: str, *, body: object = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        try:
            response = await self._http.request(method, path, json=body, timeout=timeout)
        except httpx.ConnectError as err:
            raise Unreachable(self._unreachable(err)) from None
        except httpx.TimeoutException:
            raise ControlError(f"no answer from the session within {timeout:g}s") from None
        except httpx.HTTPError as err:
            raise Unreachable(self._unreachable(err)) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        message = data.get("error") if isinstance(data, dict) else None
        if response.status_code == 401:
            raise Unauthorized(self._refused())
        if response.status_code == 400:
            raise Rejected(str(message or "bad request"))
        if response.status_code >= 400 or not isinstance(data, dict):
            raise ControlError(
                f"the session answered {response.status_code}: {message or response.text[:200]}"
            )
        return data

    def _refused(self) -> str:
        return f"the session at {self.url} refused the token (401): is it the right session?"

    def _unreachable(self, err: BaseException) -> str:
        reason = str(err) or type(err).__name__
        return f"cannot reach the session at {self.url} ({reason}); has it ended?"


class RemoteSessionLink:
    """A ``SessionLink`` to a session in another process, over its control API.

    ``owner`` is the viewer that started the session: its ``finish`` ends and writes it.
    Any other viewer's ``finish`` just leaves. A stream that drops or goes silent is
    reconnected with a bounded back-off (``reconnecting`` meanwhile) for as long as the
    engine lives; ``engine_alive`` says whether it does (its pid, its control files). Without
    it the viewer gives up after ``GIVE_UP_AFTER`` seconds of failed reconnects. ``lost`` /
    ``lost_reason`` say the viewer can no longer follow a live session: the engine went away
    (any viewer), or the session ended (a viewer that is not the owner; the owner learns the
    folder from ``finish``).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        owner: bool,
        engine_alive: Callable[[], bool] | None = None,
    ) -> None:
        self.owner = owner
        self._client = ControlClient(url, token)
        self._engine_alive = engine_alive
        self._latest: Snapshot | None = None
        self._follower: asyncio.Task[None] | None = None
        self.lost = False
        self.lost_reason: str | None = None
        self.ended: StreamEnd | None = None
        """Set when the session said it ended (folder and exit code)."""
        self.exit_code: int | None = None
        """The session's exit code once it is written (``battletui.exit_codes``)."""
        self.away_since: float | None = None
        """``time.monotonic()`` when the stream was lost, while it is being reconnected."""
        self._viewer_events: deque[Event] = deque(maxlen=VIEWER_EVENTS)

    @property
    def reconnecting(self) -> bool:
        return self.away_since is not None and not self.lost

    @property
    def viewer_events(self) -> Sequence[Event]:
        """What happened to this viewer's link (a reconnect and how long it was away)."""
        return tuple(self._viewer_events)

    async def start(self) -> None:
        """Fetch one snapshot (so the screen has one at once), then follow the stream."""
        try:
            self._latest = await self._client.snapshot()
        except ControlError:
            await self._client.aclose()
            raise
        self._follower = asyncio.create_task(self._follow(), name="session-stream")

    def snapshot(self) -> Snapshot:
        if self._latest is None:
            return Snapshot(
                scenario="",
                phase="starting",
                elapsed=0.0,
                duration=0.0,
                target_rate=0.0,
                strategy="",
            )
        return self._latest

    async def apply(
        self, action: Action, source: ActionSource = "key", *, at: float | None = None
    ) -> ActionOutcome:
        """Never raises: a refused or unreachable action is an outcome that did not apply.

        Once the engine answers, a fresh snapshot is fetched at once, so the screen shows the
        effect without waiting for the stream's next tick."""
        try:
            outcome = await self._client.apply(action, source, at=at)
        except ControlError as err:
            offset = self._latest.elapsed if self._latest is not None else 0.0
            return ActionOutcome(action, offset, source, False, error=str(err))
        with contextlib.suppress(ControlError):
            self._latest = await self._client.snapshot()
        return outcome

    async def finish(self, reason: str) -> Path | None:
        try:
            if not self.owner:
                return None
            try:
                answer = await self._client.finish(reason)
            except Unreachable:
                if self.ended is None or self.ended.session_dir is None:
                    raise
                answer = {"session_dir": self.ended.session_dir, "exit_code": self.ended.exit_code}
            code = answer.get("exit_code")
            self.exit_code = code if isinstance(code, int) else None
            folder = answer.get("session_dir")
            return Path(folder) if isinstance(folder, str) else None
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop following and drop the connection (the session goes on); a cancellation
        of the caller itself still lands (``cancel_and_wait``)."""
        follower, self._follower = self._follower, None
        await cancel_and_wait(follower)
        await self._client.aclose()

    async def _follow(self) -> None:
        """Follow the stream until the session ends, reconnecting while the engine lives."""
        failures = 0
        why: str | None = None
        while True:
            try:
                async for item in self._client.stream(silence=STREAM_SILENCE):
                    failures, why = 0, None
                    self._take(item)
                    if self.ended is not None:
                        return
            except Unauthorized as err:
                self._lose(str(err))  # a new token means another session: nothing to follow
                return
            except ControlError as err:
                why = why or str(err)  # the first failure says what happened; retries echo it
                if not self._worth_retrying():
                    self._lose(why)
                    return
            if self.away_since is None:
                self.away_since = time.monotonic()
                await self._client.forget_connections()
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1

    def _take(self, item: Snapshot | StreamEnd) -> None:
        if isinstance(item, Snapshot):
            if self._latest is None or not _older(item, self._latest):
                self._latest = item
        else:
            self._ended(item)
        if self.away_since is not None:
            self._back()  # stamped at the session's time the stream came back at

    def _back(self) -> None:
        """The stream is back: say for how long it was away, in the session's time."""
        away = time.monotonic() - (self.away_since or time.monotonic())
        self.away_since = None
        offset = self._latest.elapsed if self._latest is not None else 0.0
        text = f"viewer: the session's stream was away {away:.1f}s, reconnected"
        self._viewer_events.append(Event(offset, text, "warn"))

    def _worth_retrying(self) -> bool:
        """While the engine lives (or, not knowing, for ``GIVE_UP_AFTER`` seconds)."""
        if self._engine_alive is not None:
            return self._engine_alive()
        away = 0.0 if self.away_since is None else time.monotonic() - self.away_since
        return away < GIVE_UP_AFTER

    def _ended(self, end: StreamEnd) -> None:
        self.ended = end
        self.exit_code = end.exit_code
        if not self.owner:
            where = f" (written to {end.session_dir})" if end.session_dir else ""
            self._lose(f"the session ended{where}")

    def _lose(self, reason: str) -> None:
        self.lost = True
        self.lost_reason = reason


async def _next_frame(socket: ClientConnection, silence: float | None, url: str) -> str | bytes:
    """The next frame within ``silence`` seconds. ``asyncio.timeout``, not ``wait_for``: on
    Python 3.11 ``wait_for`` returns the frame when a cancellation lands as the frame does,
    losing the cancellation, and a viewer's ``close()`` then waited for ever (a CI hang)."""
    try:
        async with asyncio.timeout(silence):
            return await socket.recv()
    except TimeoutError:
        raise SessionLost(f"lost the session at {url} (no frame for {silence:g}s)") from None
    except ConnectionClosedOK:
        raise SessionLost(f"lost the session at {url} (the stream closed without an end)") from None


def _older(candidate: Snapshot, current: Snapshot) -> bool:
    """A stream frame built before a snapshot already fetched directly (after an action)."""
    return candidate.phase == current.phase and candidate.elapsed < current.elapsed
