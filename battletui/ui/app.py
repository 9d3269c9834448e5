"""The live TUI. It is handed a ``SessionLink`` and knows nothing else of the engine.

The session runs in another process (the engine); the link follows it over the control API.
A few times a second the app reads the newest frozen snapshot and redraws every panel in one
batched update; keys become actions sent through the link. The viewer that started the
session (``owner``) ends and writes it on quit; any other viewer just leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer

from battletui.control.link import SessionLink
from battletui.metrics import Event, ProviderView, Snapshot
from battletui.scenario import Action
from battletui.ui import keys
from battletui.ui.format import clock
from battletui.ui.help_screen import HelpScreen
from battletui.ui.mark_dialog import MarkDialog
from battletui.ui.widgets import (
    EventsPanel,
    LatencyPanel,
    ProvidersPanel,
    StatusBar,
    TrendsPanel,
    WebSocketPanel,
)

REFRESH_HZ = 8
RATE_KEYS = Binding.Group("rate", compact=True)
VIEW_KEYS = frozenset({"help", "quit_session", "leave", "select", "select_key", "quit"})
"""The actions a view-only screen keeps: nothing that acts on the session."""


class BattleApp(App[Path | None]):
    """Returns the session folder (or None if the session never started) from ``run()``."""

    CSS_PATH = "app.tcss"
    TITLE = "battletui"
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Textual declares it an instance variable)
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-short"),
        (30, "-tall"),
        (45, "-grand"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit_session", "quit"),
        Binding("q", "leave", "leave"),
        Binding("space", "pause", "pause"),
        Binding("k", "kill", "kill"),
        Binding("r", "restore", "restore"),
        Binding("R", "restore_all", "all up"),
        Binding("d", "degrade", "+100ms"),
        Binding("f", "flap", "flap"),
        Binding("e", "errors", "errors"),
        Binding("E", "error_kind", "kind"),
        Binding("h", "hang", "hang"),
        Binding("l", "lag", "lag"),
        Binding("w", "ws_drop", "ws-drop"),
        Binding("o", "reorg", "reorg"),
        Binding("s", "strategy", "strategy"),
        Binding("plus,equals_sign", "rate(1)", "rate", key_display="+", group=RATE_KEYS),
        Binding("minus", "rate(-1)", "rate", key_display="-", group=RATE_KEYS),
        Binding("m", "mark", "mark"),
        Binding("up", "select(-1)", "select", show=False),
        Binding("down", "select(1)", "select", show=False),
        Binding("ctrl+c", "quit_session('quit')", "quit", show=False, priority=True),
        Binding("ctrl+q", "quit_session('quit')", "quit", show=False, priority=True),
        *(Binding(str(n), f"select_key({n})", f"select {n}", show=False) for n in range(1, 10)),
    ]

    def __init__(
        self,
        link: SessionLink,
        *,
        owner: bool = True,
        refresh_hz: float = REFRESH_HZ,
        view_only: bool = False,
    ) -> None:
        """``view_only``: a replay being watched; a key that acted on it would make the run
        something other than the scenario, so only the screen's own keys work."""
        super().__init__()
        self._link = link
        self.owner = owner
        self.view_only = view_only
        self.lost_reason: str | None = None
        """Why the app stopped following the session on its own (its engine went away)."""
        self._refresh_hz = refresh_hz
        self.selected = 1
        self._snapshot: Snapshot | None = None
        self._status = StatusBar()
        self._status.view_only = view_only
        self._providers = ProvidersPanel()
        self._latency_beside = LatencyPanel(id="latency-beside")
        self._latency_below = LatencyPanel(id="latency-below")
        self._trends = TrendsPanel()
        self._websocket = WebSocketPanel()
        self._events = EventsPanel()
        self._quitting = False
        self.start_error: str | None = None
        self._marks = 0
        self.error_kind = "server-error"
        """What ``e`` injects; ``E`` cycles it."""

    def compose(self) -> ComposeResult:
        yield self._status
        # laid out per terminal size by app.tcss
        with Horizontal(classes="row"):
            yield self._providers
            yield self._latency_beside
        with Horizontal(classes="row"):
            yield self._latency_below
            yield self._trends
        yield self._websocket
        yield self._events
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        self.refresh_view()
        self.set_interval(1 / self._refresh_hz, self.refresh_view)
        self.run_worker(self._start(), exclusive=True, group="start")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.action_quit_session, "interrupted")

    async def _start(self) -> None:
        try:
            await self._link.start()
        except Exception as error:
            self.start_error = str(error)
            self.exit(None, return_code=3)

    # -- drawing ---------------------------------------------------------------------------

    def refresh_view(self) -> None:
        if self._link.lost and not self._quitting:
            self._quitting = True
            self.lost_reason = self._link.lost_reason or "the session went away"
            self.exit(None, return_code=0 if not self.owner else 3)
            return
        snap = with_viewer_events(self._link.snapshot(), self._link.viewer_events)
        self._snapshot = snap
        if snap.providers:
            self.selected = min(self.selected, len(snap.providers))
        if not self._status.is_mounted:
            return  # the screen is being torn down (a late action finishing after quit)
        self._status.reconnecting = self._link.reconnecting
        with self.batch_update():
            self._status.show(snap)
            self._providers.show(snap, self.selected)
            for latency in (self._latency_beside, self._latency_below):
                if latency.display:
                    latency.show(snap)
            self._trends.show(snap)
            self._websocket.show(snap)
            self._events.show(snap)

    # -- selection -------------------------------------------------------------------------

    def _provider_count(self) -> int:
        self._snapshot = self._link.snapshot()  # a key pressed before the next redraw
        return len(self._snapshot.providers)

    def action_select_key(self, key: int) -> None:
        if 1 <= key <= self._provider_count():
            self.selected = key
            self.refresh_view()

    def action_select(self, step: int) -> None:
        count = self._provider_count()
        if count:
            self.selected = (self.selected - 1 + step) % count + 1
            self.refresh_view()

    def _selected_view(self) -> ProviderView | None:
        if not self._snapshot or not self._snapshot.providers:
            return None
        return self._snapshot.providers[self.selected - 1]

    def _selected_id(self) -> str | None:
        view = self._selected_view()
        return None if view is None else view.id

    def _submit(self, action: Action, *, at: float | None = None) -> None:
        """Send an action that targets the session as a whole (chain, gateway)."""
        if not self._quitting and self._snapshot is not None and self._snapshot.phase == "running":
            self.run_worker(self._apply(action, at=at), group="actions")

    # -- chaos -----------------------------------------------------------------------------

    def _send(self, build: Callable[[str], Action]) -> None:
        target = self._selected_id()
        if target is None or self._quitting:
            return
        action = build(target)
        self.run_worker(self._apply(action), group="actions")

    async def _apply(self, action: Action, *, at: float | None = None) -> None:
        outcome = await self._link.apply(action, "key", at=at)
        if not outcome.applied:
            self.notify(outcome.error or "failed", title=action.describe(), severity="error")
        self.refresh_view()

    def action_kill(self) -> None:
        self._send(keys.kill)

    def action_restore(self) -> None:
        self._send(keys.restore)

    def action_degrade(self) -> None:
        self._send(keys.degrade)

    def action_flap(self) -> None:
        self._send(keys.flap)

    def action_ws_drop(self) -> None:
        self._send(keys.ws_drop)

    def action_hang(self) -> None:
        self._send(keys.hang)

    def action_lag(self) -> None:
        self._send(keys.lag)

    def action_errors(self) -> None:
        view = self._selected_view()
        if view is None:
            return
        current = view.error_rate if view.error_kind in (None, self.error_kind) else 0.0
        rate = keys.next_error_rate(current)
        self._send(lambda target: keys.errors(target, rate, self.error_kind))

    def action_error_kind(self) -> None:
        self.error_kind = keys.next_error_kind(self.error_kind)
        self.notify(f"e now injects {self.error_kind}", title="error kind")

    def action_reorg(self) -> None:
        self._submit(keys.reorg())

    def action_mark(self) -> None:
        if self._quitting or self._snapshot is None or self._snapshot.phase != "running":
            return
        self._marks += 1
        elapsed = self._snapshot.elapsed
        suggestion = f"mark {self._marks} at {clock(elapsed)}"

        def add(label: str | None) -> None:
            if label:
                self._submit(keys.mark(label), at=elapsed)  # the moment m was pressed

        self.push_screen(MarkDialog(suggestion), add)

    def action_restore_all(self) -> None:
        if self._quitting or self._snapshot is None:
            return
        for view in self._snapshot.providers:
            self.run_worker(self._apply(keys.restore(view.id)), group="actions")

    def action_pause(self) -> None:
        if self._snapshot is not None:
            self._submit(keys.pause(self._snapshot.paused))

    def action_rate(self, step: int) -> None:
        snap = self._snapshot
        if snap is None:
            return
        if snap.closed_loop or not snap.load:
            why = "rate: max has no target rate" if snap.load else "no load of ours here"
            self.notify(why, title="rate")
            return
        rate = keys.next_rate(snap.target_rate, step)
        if rate is None:
            self.notify(f"{snap.target_rate:g} req/s is the last step", title="rate")
            return
        self._submit(keys.rate(rate))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(owner=self.owner, view_only=self.view_only))

    async def action_quit(self) -> None:
        """Textual's own quit (the command palette's "Quit") ends the session as ``q`` does."""
        self.action_quit_session("quit")

    def action_strategy(self) -> None:
        if self._snapshot is not None:
            self._submit(keys.next_strategy(self._snapshot.strategy))

    # -- ending ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``q`` ends and writes the session for its owner; any other viewer just leaves.
        Watching a replay, only the screen's own keys are there."""
        if self.view_only and action not in VIEW_KEYS:
            return False
        if action == "leave":
            return not self.owner
        if action == "quit_session" and parameters == ():
            return self.owner
        return True

    def action_leave(self) -> None:
        self.action_quit_session("left")

    def action_quit_session(self, reason: str = "quit") -> None:
        if self._quitting:
            return
        self._quitting = True
        self.run_worker(self._finish(reason), group="finish")

    async def _finish(self, reason: str) -> None:
        self.refresh_view()
        path = await self._link.finish(reason)  # a viewer that did not start it just leaves
        self.exit(path, return_code=130 if reason == "interrupted" else 0)


def with_viewer_events(snap: Snapshot, viewer_events: Sequence[Event]) -> Snapshot:
    """The session's events with this viewer's own (a reconnect) in time order."""
    if not viewer_events:
        return snap
    events = sorted((*snap.events, *viewer_events), key=lambda event: event.offset)
    return dataclasses.replace(snap, events=tuple(events))
