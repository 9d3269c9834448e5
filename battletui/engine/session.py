"""``Session``: one chaos session, from lab start to written report.

The live TUI, headless replay and the control API all drive a session the same way: every
change goes through ``apply(action)``, which verifies the fault, journals it with its offset
from the start, and tells the viewers. Replaying the recorded timeline reproduces the session.

The session runs in the engine process, on the loop that timestamps requests, and nothing
else does: the lab (mock chain and providers) and the reference gateway are child processes
reached only over sockets, and viewers follow over the control API (``hosting.py``). A child
that dies ends the session, which is still written.

The system under test is either the reference gateway (spawned here) or an external one
(``target:``); either way it is described by one ``TargetSpec`` and observed through the
same ``build_observer`` (``target.py``, ``observers/``), so nothing below depends on which.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from battletui import __version__
from battletui.control.outcome import ActionOutcome, ActionSource
from battletui.engine.chaos import ChaosError, apply_fault
from battletui.engine.errors import SessionStartError
from battletui.engine.gateway_process import GatewayProcess
from battletui.engine.health import HealthMonitor
from battletui.engine.journal import JOURNAL_NAME, REFUSED_WRITES, Journal
from battletui.engine.lab_process import LabProcess
from battletui.engine.lab_watcher import LabWatcher
from battletui.engine.load_control import LoadControl
from battletui.engine.load_workers import LoadWorkers, auto_workers
from battletui.engine.now_verdict import NowVerdict
from battletui.engine.recorder import SessionRecorder
from battletui.engine.session_dir import make_session_dir
from battletui.engine.snapshots import build_snapshot
from battletui.engine.target import (
    SystemUnderTest,
    external,
    lab_json,
    reference,
    wait_listening,
    wait_serving,
    write_lab_json,
)
from battletui.metrics import (
    Event,
    EventLog,
    FailoverLog,
    MergedHttpMetrics,
    SessionPhase,
    Snapshot,
    WsMetrics,
    WsView,
)
from battletui.observe import (
    GatewayView,
    Observer,
    ObserverCallbacks,
    ObserverError,
    build_observer,
)
from battletui.processes import cancel_and_wait
from battletui.report import (
    SessionRecord,
    rebuild,
    recorded_scenario,
    write_outputs,
    write_scenario,
)
from battletui.scenario import (
    Action,
    HttpLoadSpec,
    Scenario,
    SloSpec,
    WorkloadSpec,
    WsLoadSpec,
    dumps_scenario,
)
from battletui.workload import WsLoad
from battletui.workload.answer_check import AnswerChecker
from battletui.workload.truth import ChainReplica, TruthError

TICK = 1.0
GATEWAY_NOTE_QUIET = 10.0
"""Seconds before the same repetitive gateway note (kind, provider) is shown again."""
QUIETED_NOTES = frozenset({"rate-limited"})
"""Notes that repeat every time a Retry-After runs out; others are always shown."""
DRAIN = 0.5
"""Seconds the workload may finish requests in flight when the session ends."""


class SessionError(RuntimeError):
    pass


def without_load(scenario: Scenario) -> Scenario:
    """What a session with no workload really runs: no load, so no SLO it could judge."""
    idle = WorkloadSpec(
        http=HttpLoadSpec(rate=0.0, mix=scenario.workload.http.mix), ws=WsLoadSpec(0)
    )
    return dataclasses.replace(scenario, workload=idle, slo=SloSpec())


class Session:
    """One chaos session; ``start``, then ``finish`` (or let the clock end it)."""

    # What ``start`` brings up, None until then (and when the session runs without it).
    dir: Path | None = None
    lab: LabProcess | None = None
    gateway: GatewayProcess | None = None
    """The reference gateway, when it is the system under test."""
    target: SystemUnderTest | None = None
    """The system under test, once started (reference or external)."""
    observer: Observer | None = None
    lab_watch: LabWatcher | None = None
    metrics: MergedHttpMetrics | None = None
    ws_metrics: WsMetrics | None = None
    _load: LoadWorkers | None = None
    _load_control: LoadControl | None = None
    """Pause and target rate of the load (``load`` actions; None without load)."""
    _ws_load: WsLoad | None = None
    _replica: ChainReplica | None = None
    """The engine's replica of the chain: the WebSocket subscribers' heads are judged
    against it (each load worker has its own for the HTTP answers)."""
    _health: HealthMonitor | None = None
    _journal: Journal | None = None
    _http: aiohttp.ClientSession | None = None

    # What the end leaves, None until then.
    _ended_at: float | None = None
    end_reason: str | None = None
    _finishing: asyncio.Task[Path] | None = None
    final_record: SessionRecord | None = None
    result: dict[str, Any] | None = None
    """result.json's content once the session has ended."""

    # What went wrong, None while nothing did.
    message: str | None = None
    """The last failure the screen tells the operator of; an applied action clears it."""
    write_error: str | None = None
    """Why the session could not be written (a full disk...): it ended there; what the
    journal holds is kept, and ``battletui report`` rebuilds it."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        sessions_root: Path,
        scenario_format: str = "yaml",
        base_port: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_event: Callable[[Event], None] | None = None,
        decorate: Callable[[dict[str, Any]], None] | None = None,
        load: bool = True,
        until_stopped: bool = False,
    ) -> None:
        """``load=False``: no workload and no SLOs (``battletui lab``: someone else sends
        the traffic); ``until_stopped``: run past ``duration`` until ``finish``."""
        self.scenario = scenario if load else without_load(scenario)
        self._declared = scenario
        """What the scenario file says: the recording keeps its workload and SLOs, so a
        replay of a ``battletui lab`` session puts load on what was found by hand."""
        self._with_load = load
        self._until_stopped = until_stopped
        self._root = sessions_root
        self._format = "toml" if scenario_format == "toml" else "yaml"
        self._clock = clock
        self._wall = wall_clock
        self._base_port = base_port
        self._decorate = decorate
        self.phase: SessionPhase = "starting"
        self.started_at: float = 0.0
        self.t0: float = 0.0
        self.recorder = SessionRecorder(
            elapsed=lambda: self.elapsed, offset_of=self._offset_of, on_event=on_event
        )
        self.outcomes: list[ActionOutcome] = []
        self._now = NowVerdict(self.scenario.slo)
        """The SLOs over the last seconds, beside the whole session's."""
        self._tasks: list[asyncio.Task[None]] = []
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pending: set[asyncio.Task[ActionOutcome]] = set()
        self._finished = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        if self.phase == "starting":
            return 0.0
        end = self._ended_at if self._ended_at is not None else self._clock()
        return max(0.0, end - self.t0)

    async def start(self) -> None:
        """Start the lab, the workload, the probes and the timeline. Raises SessionStartError."""
        self._open_journal()
        assert self.dir is not None
        await self._start_children_or_end(self.dir)
        assert self.lab is not None
        self.t0 = self._clock()  # provisional, for what happens while the rest starts
        self._http = aiohttp.ClientSession()
        self._health = HealthMonitor(
            [(spec, self.lab.providers[spec.id].url) for spec in self.scenario.providers],
            self.recorder.on_health,
        )
        await self._prepare_ws_load()
        await self._health.start()
        if self._ws_load is not None:
            await self._ws_load.start()
        self.phase = "running"
        self._write_recording()
        self._start_clock()
        self._tasks = self._background_tasks()

    def _open_journal(self) -> None:
        """The session's folder and its journal, begun with the ``start`` entry (what a
        replay or ``battletui report`` needs first). Raises SessionStartError."""
        self.started_at = self._wall()
        try:
            self.dir = make_session_dir(self._root, self.scenario.name, self.started_at)
            self._journal = Journal(self.dir / JOURNAL_NAME, on_failure=self.write_refused)
        except OSError as error:
            raise SessionStartError(
                f"the session could not be written: {self._root}: {error.strerror or error}"
            ) from error
        self.recorder.journal = self._journal
        self._journal.write(
            {
                "type": "start",
                "version": __version__,
                "started_at": _iso(self.started_at),
                "format": self._format,
                "scenario": dumps_scenario(self.scenario, "yaml"),
                **({} if self._with_load else self._lab_start()),
            }
        )
        if self.write_error is not None:
            raise SessionStartError(self.write_error)

    async def _start_children_or_end(self, folder: Path) -> None:
        """The children; if one cannot start, those that did are stopped and the journal
        ends with why, so even a failed start leaves a readable session. Raises
        SessionStartError."""
        assert self._journal is not None
        try:
            await self._start_children(folder)
        except Exception as error:
            await self._stop_children()
            if isinstance(error, OSError) and error.errno in REFUSED_WRITES:
                self.write_refused(error)  # a child's log, lab.json: the disk said no
                self._journal.write({"type": "end", "offset": 0.0, "reason": "write failed"})
                self._journal.close()
                raise SessionStartError(self.write_error) from error
            reason = str(error)
            if not isinstance(error, SessionStartError):
                reason = f"{type(error).__name__}: {error}"
            self._journal.write({"type": "end", "offset": 0.0, "reason": f"lab failed: {reason}"})
            self._journal.close()
            if isinstance(error, SessionStartError):
                raise
            raise SessionStartError(f"the session could not start: {reason}") from error

    async def _prepare_ws_load(self) -> None:
        """The WebSocket subscribers, when the scenario has some and the target speaks
        WebSocket: their figures, the replica of the chain they are judged against, the load
        (started with the rest)."""
        assert self.lab is not None and self.target is not None
        ws_spec = self.scenario.workload.ws
        ws_url = self.target.ws
        if ws_spec.subscribers <= 0 or ws_url is None:
            return
        self.ws_metrics = WsMetrics(ws_spec.subscribers, self._clock)
        chain = self.scenario.chain
        self._replica = ChainReplica(
            self.lab.truth_url,
            self.lab.token,
            seed=self.scenario.seed,
            chain_id=chain.id,
            block_time=chain.block_time,
        )
        try:
            await self._replica.start()
        except TruthError as error:
            await self._stop_children()
            raise SessionStartError(str(error)) from error
        answers = AnswerChecker(
            self._replica.chain, self.scenario.workload.stale_blocks, self._replica.settled
        )
        self._ws_load = WsLoad(
            ws_url,
            ws_spec,
            self.ws_metrics,
            clock=self._clock,
            on_anomaly=self.recorder.on_ws_anomaly,
            answers=answers,
        )

    def _start_clock(self) -> None:
        """The clock starts last: nothing of the start-up runs inside the first second the
        load generator is judged on. Then the load starts, and the journal says so."""
        assert self._journal is not None
        self.t0 = self._clock()
        workers = self._load.count if self._load is not None else 0
        self.metrics = MergedHttpMetrics(
            self._clock, workers=workers, start=self.t0, on_interval=self.recorder.on_interval
        )
        if self._load is not None:
            self._load.start(self.metrics)
        self._journal.write({"type": "running", "wall": round(self._wall(), 3), "workers": workers})
        self.recorder.event(
            0.0, f"session started · {len(self.scenario.providers)} providers", "ok"
        )

    def _background_tasks(self) -> list[asyncio.Task[None]]:
        """The timeline, the clock, and a watch on every child process."""
        assert self.lab is not None
        tasks = [
            asyncio.create_task(self._run_timeline(), name="timeline"),
            asyncio.create_task(self._run_clock(), name="session-clock"),
            asyncio.create_task(self._watch_child(self.lab.child.wait, "lab"), name="lab"),
        ]
        if self._load is not None:
            tasks.append(
                asyncio.create_task(
                    self._watch_child(self._load.wait_exited, "load worker"),
                    name="load-workers",
                )
            )
        if self.gateway is not None:
            tasks.append(
                asyncio.create_task(
                    self._watch_child(self.gateway.child.wait, "gateway"),
                    name="gateway-process",
                )
            )
        return tasks

    async def _start_children(self, folder: Path) -> None:
        """The lab, then the system under test in front of it (the reference gateway is
        spawned; an external one must already listen), then its observers; lab.json."""
        self.lab = await LabProcess.start(
            self.scenario, base_port=self._base_port, log=folder / "lab.log"
        )
        self.lab_watch = LabWatcher(
            self.lab.client,
            on_received=lambda counts: self.recorder.on_received(self.elapsed, counts),
        )
        target = await self._start_target(folder)
        await self._start_observer(target)
        self._describe_target(folder)
        await self.lab_watch.poll()
        self.lab_watch.start()
        if self._with_load:
            await self._spawn_load(folder, target)

    async def _start_target(self, folder: Path) -> SystemUnderTest:
        """The reference gateway, spawned; or the external one, once it listens (with load of
        our own) and answers JSON-RPC."""
        assert self.lab is not None
        if self.scenario.target is None:
            upstreams = [
                (spec.id, self.lab.providers[spec.id].url) for spec in self.scenario.providers
            ]
            self.gateway = await GatewayProcess.start(
                self.scenario, upstreams, port=self._base_port, log=folder / "gateway.log"
            )
            self.target = target = reference(self.gateway)
        else:
            self.target = target = external(self.scenario.target)
            if self._with_load:  # `battletui lab` starts first: its gateway may come later
                await wait_listening(target.http)
        if self._with_load:
            waited = await wait_serving(target.http, self.scenario.chain.id)
            if waited >= 0.5:
                words = f"the target answered JSON-RPC {waited:.1f}s after it listened"
                self.recorder.event(0.0, f"{words} (its start-up is not judged)", "info")
        return target

    async def _start_observer(self, target: SystemUnderTest) -> None:
        """What watches the target: started, and ready unless ``battletui lab`` starts before
        its external gateway."""
        strategy_url = None  # an external gateway's strategy is not ours to switch
        if self.gateway is not None:
            strategy_url = f"{self.gateway.admin_url}/admin/strategy"
        self.observer = build_observer(
            target.spec.observe,
            self.scenario.provider_ids,
            target.spec.upstreams,
            ObserverCallbacks(
                on_transition=self.recorder.on_transition,
                on_ws_event=self.recorder.on_ws_event,
                on_failover=self.recorder.on_failover,
                on_gateway_event=self.recorder.on_gateway_event,
            ),
            strategy_url=strategy_url,
        )
        await self.observer.start()
        if self._with_load or self.gateway is not None:
            await self.observer.wait_ready()
        # else `battletui lab` before its external gateway: the observers keep trying and
        # the screen reads UNKNOWN until the gateway answers them.

    async def _spawn_load(self, folder: Path, target: SystemUnderTest) -> None:
        """The load worker processes, aimed at the target, and the control of their rate."""
        assert self.lab is not None
        http = self.scenario.workload.http
        self._load = LoadWorkers(
            target.http,
            http,
            seed=self.scenario.seed,
            count=http.workers or auto_workers(),
            upstream_header=target.upstream_header,
            upstream_names=target.spec.upstreams,
            log=folder / "workers.log",
            truth={
                "url": self.lab.truth_url,
                "token": self.lab.token,
                "chain_id": self.scenario.chain.id,
                "block_time": self.scenario.chain.block_time,
                "stale_blocks": self.scenario.workload.stale_blocks,
            },
        )
        await self._load.spawn()
        self._load_control = LoadControl(
            http.rate, closed=http.closed, set_rate=self._load.set_rate
        )

    def _describe_target(self, folder: Path) -> None:
        """lab.json for whoever configures a gateway, and the journal's ``target`` entry
        (the report names the system under test from it)."""
        assert self.lab is not None and self.target is not None and self.observer is not None
        names = list(self.observer.names)
        providers = [self.lab.providers[spec.id] for spec in self.scenario.providers]
        write_lab_json(folder, lab_json(providers, self.gateway, self.target, names))
        if self._journal is not None:
            self._journal.write({"type": "target", **self.target.to_json(names)})

    async def _stop_children(self) -> None:
        """Observers first (their last reads reach the journal), then gateway, then lab."""
        if self._load is not None:
            await self._load.close()  # idempotent; the load was stopped before, if it ran
        if self.observer is not None:
            await self.observer.stop()
        if self.lab_watch is not None:
            await self.lab_watch.stop(final=self.lab is not None and self.lab.running)
        if self.gateway is not None:
            await self.gateway.stop()
        if self.lab is not None:
            await self.lab.stop()

    async def _watch_child(self, exited: Callable[[], Awaitable[int]], name: str) -> None:
        """A child that dies mid-session ends the session (which is still written). Given
        how to wait, not the wait itself: a watch cancelled before it ran leaves no coroutine
        never awaited."""
        code = await exited()
        if self.phase == "running":
            self.recorder.event(self.elapsed, f"the {name} process exited ({code})", "error")
            self.request_finish(f"{name} exited")

    async def wait_finished(self) -> Path:
        """The session folder once the session is written; what ended the finish, if it
        failed (a waiter never waits for an event that can no longer come)."""
        waiter = asyncio.ensure_future(self._finished.wait())
        try:
            while not waiter.done():
                finishing = self._finishing
                watched = {waiter} if finishing is None else {waiter, finishing}
                await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED, timeout=1.0)
                if finishing is not None and finishing.done() and not self._finished.is_set():
                    return finishing.result()  # raises what broke the finish
        finally:
            waiter.cancel()
        assert self.dir is not None
        return self.dir

    def request_finish(self, reason: str) -> asyncio.Task[Path]:
        """End the session (idempotent); the returned task resolves to the session folder."""
        if self._finishing is None:
            self._finishing = asyncio.create_task(self._finish(reason), name="finish")
        return self._finishing

    async def finish(self, reason: str = "quit") -> Path:
        return await self.request_finish(reason)

    async def _finish(self, reason: str) -> Path:
        if self.phase == "starting":
            raise SessionError("the session never started")
        self.phase = "ending"
        self._ended_at = self._clock()
        self.end_reason = reason
        current = asyncio.current_task()
        await cancel_and_wait(*(task for task in self._tasks if task is not current))
        for pending in list(self._pending):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(pending), 3.0)
        if self._load is not None:
            await self._load.stop(drain=DRAIN)
        if self._ws_load is not None:
            await self._ws_load.stop()
        if self._replica is not None:
            await self._replica.stop()
        self.recorder.report_failovers()
        self.recorder.checkpoint_ws(self.ws_view())
        if self.metrics is not None:
            self.metrics.flush()  # (the workers' seconds are all in once they stopped)
        if self._health is not None:
            await self._health.stop()
        if self._http is not None:
            await self._http.close()
        await self._stop_children()
        offset = self._ended_at - self.t0
        self.recorder.event(offset, f"session ended ({reason})", "info")
        assert self._journal is not None and self.dir is not None
        self._journal.write({"type": "end", "offset": round(offset, 3), "reason": reason})
        self._journal.close()
        try:
            self.final_record = rebuild(self.dir / JOURNAL_NAME)
            self.result = write_outputs(self.final_record, self.dir, decorate=self._decorate)
        except OSError as error:  # the disk that refused the journal refuses the report too
            self.write_refused(error)
        self.phase = "ended"
        self._finished.set()
        return self.dir

    # -- actions ---------------------------------------------------------------------------

    async def apply(
        self, action: Action, source: ActionSource = "api", *, at: float | None = None
    ) -> ActionOutcome:
        """Apply, verify and journal one action. Never raises for a failed fault. ``at``
        stamps a mark with the moment its key was pressed (never later than now)."""
        offset = self.elapsed if at is None else min(max(at, 0.0), self.elapsed)
        if self.phase != "running":
            return self._journal_outcome(
                ActionOutcome(action, offset, source, False, error="the session is not running")
            )
        task = asyncio.create_task(self._apply(action, offset, source))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await asyncio.shield(task)

    async def _apply(self, action: Action, offset: float, source: ActionSource) -> ActionOutcome:
        assert self.lab is not None and self._http is not None
        if action.kind == "mark":
            return self._journal_outcome(ActionOutcome(action, offset, source, True, "mark"))
        if action.kind == "load":
            return self._journal_outcome(self._apply_load(action, offset, source))
        lock = self._locks[action.target or ""]
        async with lock:
            taken = self._clock()
            was = self._fault_words(action)
            try:
                detail = await apply_fault(self.lab, action, self._http, switch=self._switch)
                if was is not None:
                    detail = f"{was}: {detail}"
            except ChaosError as error:
                outcome = ActionOutcome(action, offset, source, False, error=str(error))
            except Exception as error:  # a broken fault must reach the operator, not crash
                outcome = ActionOutcome(
                    action, offset, source, False, error=f"{type(error).__name__}: {error}"
                )
            else:
                outcome = ActionOutcome(action, offset, source, True, detail)
            outcome = dataclasses.replace(outcome, verify_ms=(self._clock() - taken) * 1000)
        if self._health is not None and action.target:
            self._health.probe_soon(action.target)
        if self.lab_watch is not None:
            await self.lab_watch.poll()  # the screen shows the new fault at once
        return self._journal_outcome(outcome)

    def _apply_load(self, action: Action, offset: float, source: ActionSource) -> ActionOutcome:
        if self._load_control is None:
            error = "no load of ours to change: the traffic comes from outside"
            return ActionOutcome(action, offset, source, False, error=error)
        try:
            detail = self._load_control.apply(action.params.get("value", ""))
        except ChaosError as error:
            return ActionOutcome(action, offset, source, False, error=str(error))
        return ActionOutcome(action, offset, source, True, detail)

    def _fault_words(self, action: Action) -> str | None:
        """``already down`` (and the like) when the action repeats what is already so: the
        operator should not read a second ✓ as a second outage."""
        if self.lab_watch is None or action.target is None:
            return None
        faults = self.lab_watch.faults(action.target)
        if action.kind == "kill" and faults.killed and not faults.flapping:
            return "already down"
        if action.kind == "hang" and faults.hung:
            return "already hung"
        if action.kind == "lag" and faults.lagging:
            return "already lagging"
        if action.kind == "flap" and faults.flapping:
            return "already flapping"
        return None

    async def _switch(self, name: str) -> str:
        """The gateway's strategy, switched and verified over its admin endpoint."""
        if self.target is not None and self.target.kind == "external":
            raise ChaosError(
                f"strategy: {self.target.http} is an external gateway; its strategy cannot "
                "be switched from here"
            )
        if self.observer is None:
            raise ChaosError("strategy: the gateway is not running")
        try:
            return await self.observer.set_strategy(name)
        except ObserverError as error:
            raise ChaosError(str(error)) from error

    def _journal_outcome(self, outcome: ActionOutcome) -> ActionOutcome:
        if self._journal is not None:
            self._journal.write({"type": "action", **outcome.to_json()})
        self.outcomes.append(outcome)
        text = outcome.action.describe()
        if outcome.action.target:
            self.recorder.events.end_run(f"health:{outcome.action.target}")
        if outcome.applied and outcome.action.kind == "strategy":
            name = str(outcome.action.params.get("name", ""))
            self.recorder.switched_strategy(name, outcome.offset)
        if outcome.applied and outcome.action.kind == "mark":
            self.recorder.event(outcome.offset, f"⚑ {text}", "info")
            self.message = None
            self._write_recording()
        elif outcome.applied:
            self.recorder.event(outcome.offset, f"{text} ✓ {outcome.detail}", "warn")
            self._write_recording()
            self.message = None
        else:
            self.recorder.event(outcome.offset, f"{text} ✗ {outcome.error}", "error")
            self.message = f"{text} failed: {outcome.error}"
        return outcome

    # -- background ------------------------------------------------------------------------

    async def _run_timeline(self) -> None:
        for entry in self.scenario.timeline:
            delay = self.t0 + entry.at - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._apply(entry.action, self.elapsed, "timeline"))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _run_clock(self) -> None:
        end = self.t0 + self.scenario.duration
        until_stopped = self._until_stopped or self.scenario.open_ended
        while True:
            now = self._clock()
            if now >= end and not until_stopped:
                break
            await asyncio.sleep(TICK if until_stopped else min(TICK, end - now))
            if self.metrics is not None:
                self.metrics.tick()
            if self._with_load:
                self._now.tick(self._clock(), self.metrics, self.ws_view())
            self.recorder.report_failovers()
            self.recorder.checkpoint_ws(self.ws_view())
        self.request_finish("completed")

    def ws_view(self) -> WsView | None:
        if self.ws_metrics is None:
            return None
        view = self.observer.view if self.observer is not None else GatewayView()
        return self.ws_metrics.view(view.ws_upstream, observed=view.ws_observed)

    def _offset_of(self, at: float) -> float:
        """A time on the session's clock as an offset from its start."""
        return max(0.0, at - self.t0) if self.t0 else 0.0

    @property
    def events(self) -> EventLog:
        return self.recorder.events

    @property
    def failover_log(self) -> FailoverLog:
        return self.recorder.failover_log

    def _lab_start(self) -> dict[str, Any]:
        return {"load": False, "declared": dumps_scenario(self._declared, "yaml")}

    def recorded_scenario(self) -> Scenario:
        """The setup plus the actions exactly as applied, at the offsets they were issued."""
        return recorded_scenario(
            self._declared,
            [dict(o.to_json()) for o in self.outcomes],
            end_reason=self.end_reason,
            elapsed=self.elapsed,
        )

    def _write_recording(self) -> None:
        """Rewrite the replayable scenario now, so even a killed process leaves one behind."""
        if self.dir is not None and self.write_error is None:
            try:
                write_scenario(self.recorded_scenario(), self.dir / f"scenario.{self._format}")
            except OSError as error:
                self.write_refused(error)

    def write_refused(self, error: OSError) -> None:
        """The disk refused a write: end the session now, keep what is written, say why."""
        if self.write_error is not None:
            return
        where = self.dir if self.dir is not None else self._root
        self.write_error = (
            f"the session could not be written: {where}: {error.strerror or error}; "
            f"what was written is kept (battletui report {where} rebuilds it)"
        )
        self.message = self.write_error
        self.recorder.event(self.elapsed, f"✘ {self.write_error}", "error")
        if self.phase == "running":
            self.request_finish("write failed")

    def _gateway_view(self) -> GatewayView:
        """What the observers say; without load of our own (``battletui lab``) no answer
        carries an upstream header to us, so the traffic share is what the providers
        received."""
        view = self.observer.view if self.observer is not None else GatewayView()
        if self._with_load:
            return view
        return dataclasses.replace(view, share_source="received")

    def snapshot(self) -> Snapshot:
        """The session as the screen shows it now (see ``snapshots.py`` for the sources)."""
        return build_snapshot(
            scenario=self.scenario,
            phase=self.phase,
            elapsed=self.elapsed,
            endpoints=self.lab.providers if self.lab is not None else {},
            lab=self.lab_watch,
            gateway=self._gateway_view(),
            metrics=self.metrics,
            target_rate=(
                self._load_control.target_rate
                if self._load_control is not None
                else self.scenario.workload.http.rate
            ),
            paused=self._load_control is not None and self._load_control.paused,
            now=self._now if self._with_load else None,
            health=self._health,
            ws=self.ws_view(),
            failovers_away=self.failover_log.away_from,
            events=self.events.recent(50),
            session_dir=str(self.dir) if self.dir and self.phase == "ended" else None,
            message=self.message,
            gateway_url=self.target.http if self.target is not None else None,
            gateway_external=self.target is not None and self.target.kind == "external",
            load=self._with_load,
        )


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))
