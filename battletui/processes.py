"""The plumbing every battletui child process shares: how it is started, how it says it is
ready, and how it dies with its parent.

A session is several OS processes (lab, reference gateway, engine) that meet only over
sockets. Each child is ``python -m <module>``; the parent writes one JSON line of
configuration on the child's stdin and keeps that pipe open for the child's whole life. The
child answers with one JSON line on stdout once it listens (``{"error": ...}`` if it could
not start). When the parent goes away, however it goes (``q``, a crash, SIGKILL), the pipe
reaches end-of-file and the child stops by itself; on Linux ``PR_SET_PDEATHSIG`` sends it
SIGTERM as a second line of defence. No child outlives its parent, and none holds a port.

Children run in a session of their own, so a Ctrl-C at the terminal reaches the parent only,
which then ends its children in order (their last words matter: the gateway's final events,
the lab's counts).

``cancel_and_wait`` is how every process stops tasks of its own (the wire, which imports
nothing of battletui, keeps its own copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import IO, Any, NoReturn

__all__ = [
    "ChildContext",
    "ChildError",
    "ChildProcess",
    "cancel_and_wait",
    "child_main",
    "install_uvloop",
]

READY_TIMEOUT = 20.0
"""Seconds a child may take to report ready before it is killed and the start fails."""
STOP_TIMEOUT = 3.0
"""Seconds a child may take to stop after its stdin closes, before SIGTERM, then SIGKILL."""
KILLED_GRACE = 5.0
"""Seconds to wait for a SIGKILLed child's exit to be reported before giving up on it."""
_log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


class ChildError(RuntimeError):
    """A child process could not start, or said why it could not (one line)."""


def install_uvloop() -> bool:
    """Use uvloop for the loops that follow, where it is installed; True if it is."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None, swallow: bool = False) -> None:
    """Cancel every task (``None`` is skipped), then wait until each has ended, so none
    outlives its owner. ``asyncio.wait``, not ``await task`` under a suppress: a cancellation
    of the caller itself still lands. A task's cancellation is no error; with ``swallow``
    neither is anything else it raised (an owner that stops does not care why), else the
    first such error propagates."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    if not running:
        return
    await asyncio.wait(running)
    errors = [task.exception() for task in running if not task.cancelled()]
    first = next((error for error in errors if error is not None), None)
    if first is not None and not swallow:
        raise first


# -- parent side ----------------------------------------------------------------------------


class ChildProcess:
    """A running child: its ready message, and a way to end it that always ends it."""

    def __init__(
        self, name: str, process: asyncio.subprocess.Process, ready: Mapping[str, Any]
    ) -> None:
        self.name = name
        self.process = process
        self.ready = ready

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        """Not exited: asyncio's word, and the kernel's (an exit not yet reaped is an exit)."""
        return self.process.returncode is None and pid_running(self.process.pid)

    @classmethod
    async def spawn(
        cls,
        name: str,
        module: str,
        config: Mapping[str, Any],
        *,
        log: Path | None = None,
        ready_timeout: float = READY_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> ChildProcess:
        """Start ``python -m module``, hand it ``config``, wait for its ready line.

        Raises ``ChildError`` with the child's own one-line reason when it reports one, or
        says it died / did not answer in time. ``log`` receives the child's stderr (else it
        is inherited).
        """
        stderr: IO[bytes] | None = None
        if log is not None:
            stderr = open(log, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        finally:
            if stderr is not None:
                stderr.close()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(dict(config)).encode() + b"\n")
        try:
            await process.stdin.drain()
            line = await asyncio.wait_for(process.stdout.readline(), ready_timeout)
        except (TimeoutError, ConnectionError) as error:
            await _end(process, 0.0)
            reason = "did not report ready in time" if isinstance(error, TimeoutError) else error
            raise ChildError(f"{name}: {reason}") from error
        except BaseException:
            await _end(process, 0.0)
            raise
        if not line:
            code = await _end(process, STOP_TIMEOUT)
            where = f"; see {log}" if log is not None else ""
            raise ChildError(f"{name} exited before it was ready (exit code {code}){where}")
        try:
            ready = json.loads(line)
        except ValueError:
            await _end(process, 0.0)
            raise ChildError(f"{name}: unreadable ready line {line[:80]!r}") from None
        if not isinstance(ready, dict) or "error" in ready:
            await _end(process, STOP_TIMEOUT)
            message = ready.get("error") if isinstance(ready, dict) else ready
            raise ChildError(str(message))
        return cls(name, process, ready)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Ask the child to stop (close its stdin), then SIGTERM, then SIGKILL; its exit code."""
        return await _end(self.process, timeout)

    async def wait(self) -> int:
        return await self.process.wait()


def pid_running(pid: int) -> bool:
    """``pid`` is a live process: it exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel whether the pid exists at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    state = stat.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"])


async def _end(process: asyncio.subprocess.Process, timeout: float) -> int:
    if process.returncode is not None:
        return process.returncode
    if process.stdin is not None:
        with contextlib.suppress(OSError, RuntimeError):
            process.stdin.close()
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(process.wait(), max(timeout, 0.2))
    # Killed, yet its exit never reported (a lost SIGCHLD): do not wait for ever on it.
    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(process.wait(), KILLED_GRACE)
    _log.warning("child %s did not report its exit after SIGKILL", process.pid)
    return -signal.SIGKILL


# -- child side -----------------------------------------------------------------------------


class ChildContext:
    """What a child's main coroutine gets: its config, a way to say ready, and when to stop."""

    def __init__(self, config: Mapping[str, Any], stop: asyncio.Event) -> None:
        self.config = config
        self.stop = stop
        """Set when the parent is gone, closed our stdin, or sent SIGTERM/SIGINT."""
        self.stop_reason = ""

    def ready(self, message: Mapping[str, Any]) -> None:
        """Report ready (one JSON line on stdout); say it once, after listening."""
        _say(message)

    def fail(self, reason: str) -> None:
        """Report that the child could not start (the parent raises it as ``ChildError``)."""
        _say({"error": reason})


def _say(message: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(dict(message)) + "\n")
    sys.stdout.flush()


def _die_with_parent() -> None:
    """Linux: SIGTERM when the parent dies, even by SIGKILL (stdin EOF is the other way)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def child_main(run: Callable[[ChildContext], Awaitable[int]]) -> NoReturn:
    """Run a child process: read the config line, watch the parent, run ``run``, exit.

    ``run`` reports ready through the context, serves until ``context.stop`` is set, cleans
    up and returns the exit code.
    """
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(0)
    line = sys.stdin.buffer.readline()
    if not line:
        os._exit(0)
    config = json.loads(line)
    install_uvloop()
    code = asyncio.run(_serve(run, config, parent))
    sys.stdout.flush()
    os._exit(code)


async def _serve(
    run: Callable[[ChildContext], Awaitable[int]], config: Mapping[str, Any], parent: int
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    context = ChildContext(config, stop)

    def stop_for(reason: str) -> None:
        if not stop.is_set():
            context.stop_reason = reason
            stop.set()

    for sig, why in ((signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")):
        loop.add_signal_handler(sig, stop_for, why)

    def watch_stdin() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(stop_for, "parent closed the pipe")

    threading.Thread(target=watch_stdin, name="parent-watch", daemon=True).start()

    async def watch_parent() -> None:
        while os.getppid() == parent:
            await asyncio.sleep(0.5)
        stop_for("parent gone")

    watcher = asyncio.create_task(watch_parent())
    try:
        return await run(context)
    finally:
        watcher.cancel()
