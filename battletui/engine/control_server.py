"""The local control API: viewers, ``battletui ctl`` and browsers join a running session here.

HTTP + WebSocket on 127.0.0.1 only; every request needs ``Authorization: Bearer <token>``
(the token sits in the session folder's owner-only ``control.token``), else 401.

- ``GET /state``     -> ``{"phase", "scenario", "elapsed", "session_dir", "pid"}``
- ``GET /snapshot``  -> the snapshot as ``battletui.control.codec.snapshot_to_json``
- ``GET /stream``    WebSocket: ``{"type": "snapshot", "snapshot": {...}}`` at ``hz``, then
  ``{"type": "end", "session_dir", "exit_code"}`` and a normal close once the session ended.
  A close without ``end`` (1001, or the socket just drops) means the engine went away.
- ``POST /actions``  ``{"kind", "target", "params", "source"}`` -> 200 with the outcome
  (``ActionOutcome.to_json``; ``applied`` false when it did not take effect), or 400
  ``{"error"}`` with one line when the request is malformed or the action invalid.
- ``POST /finish``   ``{"reason"}`` -> waits until the session is written ->
  ``{"session_dir", "exit_code"}``.

Actions on the wire: ``params`` may be what an ``Action`` holds (the TUI sends its keys'
actions as they are: ``{"latency": 0.1, "jitter": 0.02, "relative": true, "method": ""}``) or
what a person writes in a timeline entry (``battletui ctl`` sends ``{"latency": "+100ms"}``).
Either way the server checks it with the scenario file's own rules
(``battletui.scenario.parse_action``, against the session's providers) and applies the
normalised ``Action`` it returns, so a bad action gets the same message as in a file.

The stream runs on the measuring event loop: one snapshot is built and encoded per tick and
the same text goes to every viewer; a slow viewer skips frames rather than queueing them;
with no viewer connected there is no ticking at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, cast

from aiohttp import WSCloseCode, web

from battletui.control.codec import CodecError, action_from_json, snapshot_to_json
from battletui.control.outcome import ACTION_SOURCES, ActionOutcome, ActionSource
from battletui.exit_codes import COULD_NOT_RUN, of_result
from battletui.metrics import Snapshot
from battletui.processes import cancel_and_wait
from battletui.scenario import Action, ScenarioError, parse_action

log = logging.getLogger(__name__)

ACTION_KEYS = ("kind", "target", "params", "source", "at")
SHUTDOWN_GRACE = 5.0
"""Seconds ``stop()`` lets an answer in flight (e.g. to ``POST /finish``) finish."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlledSession(Protocol):
    """What the server needs of a session (``engine.Session`` has it; tests use fakes)."""

    @property
    def phase(self) -> str: ...

    @property
    def dir(self) -> Path | None: ...

    @property
    def result(self) -> Mapping[str, Any] | None:
        """result.json's content once the session has ended."""

    @property
    def write_error(self) -> str | None:
        """Why the session could not be written, if it could not."""

    def snapshot(self) -> Snapshot: ...

    async def apply(
        self, action: Action, source: ActionSource, *, at: float | None = None
    ) -> ActionOutcome: ...

    def request_finish(self, reason: str) -> asyncio.Task[Path]: ...


class _Viewer:
    """One stream connection's mailbox: the newest frame only, so slow viewers skip frames."""

    def __init__(self) -> None:
        self.frame: str | None = None
        self.end: str | None = None
        self.wake = asyncio.Event()

    def offer(self, frame: str) -> None:
        self.frame = frame
        self.wake.set()

    def close_with(self, end: str) -> None:
        self.end = end
        self.wake.set()


class ControlServer:
    def __init__(
        self,
        session: ControlledSession,
        token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        hz: float = 8.0,
    ) -> None:
        if not token:
            raise ValueError("the control server needs a token")
        if not _loopback(host):
            raise ValueError(f"the control server listens on loopback only, not {host!r}")
        self._session = session
        self._token = token.encode()
        self._host = host
        self._port = port
        self._period = 1.0 / hz
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._viewers: set[_Viewer] = set()
        self._sockets: set[web.WebSocketResponse] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._frame: str | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if self._url is None:
            raise RuntimeError("the control server is not started")
        return self._url

    async def start(self) -> str:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/state", self._state)
        app.router.add_get("/snapshot", self._snapshot)
        app.router.add_get("/stream", self._stream)
        app.router.add_post("/actions", self._actions)
        app.router.add_post("/finish", self._finish)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = int(self._runner.addresses[0][1])
        self._url = f"http://{self._host}:{port}"
        return self._url

    async def stop(self) -> None:
        """Close the viewers' streams (1001: the engine is going away), then stop listening."""
        await cancel_and_wait(self._ticker)
        for socket in list(self._sockets):
            with contextlib.suppress(Exception):
                await socket.close(code=WSCloseCode.GOING_AWAY, message=b"engine stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- plumbing ------------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if not header:
            return _error(401, "no token: send Authorization: Bearer <the session's control.token>")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), self._token
        ):
            return _error(401, "wrong token for this session")
        return await handler(request)

    # -- reading -------------------------------------------------------------------------------

    async def _state(self, request: web.Request) -> web.Response:
        snap = self._session.snapshot()
        folder = self._session.dir
        return web.json_response(
            {
                "phase": self._session.phase,
                "scenario": snap.scenario,
                "elapsed": round(snap.elapsed, 3),
                "session_dir": None if folder is None else str(folder),
                "pid": os.getpid(),
            }
        )

    async def _snapshot(self, request: web.Request) -> web.Response:
        return web.json_response(snapshot_to_json(self._session.snapshot()))

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(compress=False)  # per-viewer deflate would cost the loop
        await socket.prepare(request)
        viewer = _Viewer()
        ticking = self._ticker is not None and not self._ticker.done()
        if ticking and self._frame is not None:
            viewer.offer(self._frame)  # at most one period old: no wait for the next tick
        self._viewers.add(viewer)
        self._sockets.add(socket)
        if not ticking:
            self._ticker = asyncio.create_task(self._tick(), name="control-stream")
        sender = asyncio.create_task(_send(socket, viewer), name="control-viewer")
        try:
            async for _ in socket:  # viewers send nothing; this notices when they leave
                pass
        finally:
            self._viewers.discard(viewer)
            self._sockets.discard(socket)
            await cancel_and_wait(sender)
        return socket

    async def _tick(self) -> None:
        """Build and encode one snapshot per period while anyone watches; stop when nobody does."""
        while self._viewers:
            ended = self._session.phase == "ended"
            try:
                frame = json.dumps(
                    {"type": "snapshot", "snapshot": snapshot_to_json(self._session.snapshot())}
                )
            except Exception:
                log.exception("could not build a snapshot for the control stream")
            else:
                self._frame = frame
                for viewer in self._viewers:
                    viewer.offer(frame)
            if ended:
                end = json.dumps({"type": "end", **self._ending()})
                for viewer in self._viewers:
                    viewer.close_with(end)
                return
            await asyncio.sleep(self._period)
        self._frame = None

    def _ending(self) -> dict[str, Any]:
        folder = self._session.dir
        result = self._session.result
        code = None if result is None else of_result(result)
        if self._session.write_error is not None:
            code = COULD_NOT_RUN  # the session could not be written
        return {
            "session_dir": None if folder is None else str(folder),
            "exit_code": code,
        }

    # -- acting --------------------------------------------------------------------------------

    async def _actions(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _error(400, 'the body must be a JSON object like {"kind": "kill", ...}')
        unknown = [key for key in body if key not in ACTION_KEYS]
        if unknown:
            return _error(400, f"unknown key {unknown[0]!r} (known: {', '.join(ACTION_KEYS)})")
        source = body.get("source", "api")
        if source not in ACTION_SOURCES:
            known = ", ".join(ACTION_SOURCES)
            return _error(400, f"source: expected one of {known}, got {source!r}")
        providers = tuple(view.id for view in self._session.snapshot().providers)
        try:
            shaped = action_from_json(body)
            action = parse_action(shaped.kind, shaped.target, shaped.params, providers)
        except CodecError as err:
            return _error(400, str(err))
        except ScenarioError as err:
            return _error(400, f"{err.field}: {err.message}")
        at = body.get("at")
        if at is not None:
            if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
                return _error(400, f"at: expected seconds into the session, got {at!r}")
            if action.kind != "mark":
                return _error(400, "at: only a mark is stamped with an earlier moment")
        try:
            outcome = await self._session.apply(
                action, cast(ActionSource, source), at=None if at is None else float(at)
            )
        except Exception as err:
            log.exception("applying %s failed", action.describe())
            return _error(500, f"applying {action.describe()} failed: {err}")
        return web.json_response(dict(outcome.to_json()))

    async def _finish(self, request: web.Request) -> web.Response:
        body = await _json_body(request) if request.can_read_body else {}
        reason = body.get("reason", "api") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason:
            return _error(400, 'the body must be a JSON object like {"reason": "quit"}')
        try:
            folder = await asyncio.shield(self._session.request_finish(reason))
        except Exception as err:
            return _error(409, f"the session could not be finished: {err}")
        return web.json_response({**self._ending(), "session_dir": str(folder)})


async def _send(socket: web.WebSocketResponse, viewer: _Viewer) -> None:
    with contextlib.suppress(ConnectionError):
        while True:
            await viewer.wake.wait()
            viewer.wake.clear()
            frame, viewer.frame = viewer.frame, None
            if frame is not None:
                await socket.send_str(frame)
            if viewer.end is not None:
                await socket.send_str(viewer.end)
                await socket.close()
                return


async def _json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError:
        return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)
