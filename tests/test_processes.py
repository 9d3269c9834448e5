"""The child-process plumbing: ready line, one-line failures, and no child outliving its parent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import REPO
from helpers.orphans import port_listening, process_alive, wait_all_gone

from battletui.processes import ChildError, ChildProcess, cancel_and_wait

TESTS = str(REPO / "tests")
ENV = {"PYTHONPATH": TESTS + os.pathsep + os.environ.get("PYTHONPATH", "")}


async def test_child_reports_ready_and_stops_when_asked() -> None:
    child = await ChildProcess.spawn("echo", "children.echo_child", {}, env=ENV)
    port = int(child.ready["port"])
    assert child.ready["pid"] == child.pid
    assert port_listening(port)
    assert child.ready["loop"].startswith("uvloop")  # uvloop where it is installed
    code = await child.stop()
    assert code == 0
    assert wait_all_gone([child.pid], [port]) == []


async def test_a_child_that_cannot_start_says_why_in_one_line() -> None:
    with pytest.raises(ChildError) as raised:
        await ChildProcess.spawn(
            "echo", "children.echo_child", {"fail": "port 1 is taken"}, env=ENV
        )
    assert str(raised.value) == "port 1 is taken"


async def test_a_child_that_never_answers_is_killed() -> None:
    with pytest.raises(ChildError, match="did not report ready"):
        await ChildProcess.spawn(
            "echo", "children.echo_child", {"silent": True}, env=ENV, ready_timeout=1.0
        )


async def test_a_child_that_dies_at_start_is_reported() -> None:
    with pytest.raises(ChildError, match="exited before it was ready"):
        await ChildProcess.spawn("nothing", "children.no_such_module", {}, env=ENV)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_the_child_dies_with_its_parent(how: signal.Signals) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-m", "children.orphaning_parent", "children.echo_child"],
        stdout=subprocess.PIPE,
        env={**os.environ, **ENV},
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = json.loads(parent.stdout.readline())
        child_pid, port = int(line["pid"]), int(line["ready"]["port"])
        assert process_alive(child_pid) and port_listening(port)
        parent.send_signal(how)
        parent.wait(timeout=10)
        assert wait_all_gone([child_pid], [port]) == []
    finally:
        parent.kill()
        parent.wait()


async def _sleep_then_fail(message: str) -> None:
    try:
        await asyncio.sleep(60)
    finally:
        raise RuntimeError(message)  # what a task that breaks while it is stopped raises


async def test_cancel_and_wait_ends_every_task_and_skips_none() -> None:
    tasks = [asyncio.create_task(asyncio.sleep(60)) for _ in range(3)]
    await cancel_and_wait(tasks[0], None, *tasks[1:])
    assert all(task.cancelled() for task in tasks)


async def test_cancel_and_wait_raises_what_a_task_raised_unless_told_to_swallow_it() -> None:
    broken = asyncio.create_task(_sleep_then_fail("broken"))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="broken"):
        await cancel_and_wait(broken)
    quiet = asyncio.create_task(_sleep_then_fail("quiet"))
    await asyncio.sleep(0)
    await cancel_and_wait(quiet, swallow=True)
    assert quiet.done()


async def test_cancel_and_wait_lets_its_callers_own_cancellation_through() -> None:
    """A stop that is itself cancelled (a test's timeout, Ctrl-C) must not carry on: the
    task being stopped here shrugs off its first cancellation, like one caught mid-read."""
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await release.wait()

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    release.set()
    await task
