"""The session as separate processes: a viewer attached to a real running engine, a second
viewer, ``battletui ctl`` from another process, the token, and nothing left behind however a
session ends (no process, no listening port)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import REPO, small_scenario
from helpers.orphans import children_of, wait_all_gone
from helpers.waiting import wait_until
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from battletui.control.client import RemoteSessionLink
from battletui.control.engine_link import OwnedSessionLink
from battletui.control.files import read_control
from battletui.engine import JOURNAL_NAME, read_journal
from battletui.metrics import Snapshot
from battletui.scenario import Scenario, dump_scenario
from battletui.ui import BattleApp

BIN = Path(sys.executable).parent


def ports_of(snap: Snapshot) -> list[int]:
    urls = [p.url for p in snap.providers] + [snap.gateway_url or ""]
    return [int(urlsplit(u).port or 0) for u in urls if u]


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        for child in children_of(queue.pop()):
            found.append(child)
            queue.append(child)
    return found


def journal(folder: Path) -> list[dict[str, Any]]:
    return list(read_journal(folder / JOURNAL_NAME))


@pytest.fixture
async def owned(tmp_path: Path) -> Any:
    link = OwnedSessionLink(small_scenario(rate=40), sessions_root=tmp_path)
    await link.start()
    await wait_until(
        lambda: (
            len(link.snapshot().providers) == 3
            and all(p.health == "UP" for p in link.snapshot().providers)
        ),
        timeout=30,
        what="every provider UP",
    )
    yield link
    await link.finish("quit")


async def test_the_tui_drives_a_session_in_another_process(tmp_path: Path) -> None:
    link = OwnedSessionLink(small_scenario(rate=40, workers=2), sessions_root=tmp_path)
    app = BattleApp(link, owner=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(
            lambda: (
                len(link.snapshot().providers) == 3
                and all(p.health == "UP" for p in link.snapshot().providers)
            ),
            timeout=30,
            what="every provider UP",
        )
        engine = link.engine_pid
        assert engine is not None and engine != os.getpid()
        others = descendants(engine)
        assert len(others) == 4, others  # the lab, the gateway, two load workers
        ports = ports_of(link.snapshot())
        await pilot.press("1", "k")

        def alpha() -> Any:
            return next(p for p in link.snapshot().providers if p.id == "alpha")

        await wait_until(
            lambda: alpha().breaker == "OPEN" and alpha().health == "DOWN",
            timeout=10,
            what="alpha DOWN with its breaker OPEN",
        )
        await wait_until(
            lambda: "kill alpha" in "".join(e.text for e in link.snapshot().events),
            timeout=10,
            what="the kill in the event log",
        )
        await pilot.press("q")
        # The app's own answer, not the engine's death: the engine ends a moment before the
        # screen has its folder back, and leaving run_test in between would drop the answer.
        await wait_until(
            lambda: app.return_value is not None, timeout=60, what="q to hand back the folder"
        )
    folder = app.return_value
    assert folder == link.session_dir and folder is not None
    assert (folder / "report.md").is_file()
    kills = [e for e in journal(folder) if e["type"] == "action" and e["kind"] == "kill"]
    assert kills and kills[0]["source"] == "key" and kills[0]["applied"]
    assert kills[0]["verify_ms"] >= 0  # verified over alpha's socket before it was journaled
    assert not (folder / "control.json").exists() and not (folder / "control.token").exists()
    assert wait_all_gone([engine, *others], [p for p in ports if p]) == []


async def test_control_files_and_the_token(owned: OwnedSessionLink) -> None:
    assert owned.session_dir is not None
    url, token = read_control(owned.session_dir)
    assert (owned.session_dir / "control.token").stat().st_mode & 0o777 == 0o600
    meta = json.loads((owned.session_dir / "control.json").read_text())
    assert meta["url"] == url and meta["pid"] == owned.engine_pid
    assert urlsplit(url).hostname == "127.0.0.1"
    async with httpx.AsyncClient() as http:
        for path in ("/state", "/snapshot"):
            assert (await http.get(url + path)).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await http.get(url + path, headers=wrong)).status_code == 401
        denied = await http.post(url + "/actions", json={"kind": "kill", "target": "alpha"})
        assert denied.status_code == 401
        right = {"Authorization": f"Bearer {token}"}
        state = (await http.get(url + "/state", headers=right)).json()
        assert state["phase"] == "running"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url.replace("http", "ws") + "/stream"):
            pass
    assert refused.value.response.status_code == 401
    assert all(p.health == "UP" for p in owned.snapshot().providers)  # nothing was killed


async def test_two_viewers_and_ctl_from_another_process(
    owned: OwnedSessionLink, tmp_path: Path
) -> None:
    assert owned.session_dir is not None
    url, token = read_control(owned.session_dir)
    second = RemoteSessionLink(url, token, owner=False)
    app = BattleApp(second, owner=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(lambda: second.snapshot().phase == "running", what="the second view")
        await pilot.press("2", "k")  # the second viewer's key acts on the shared session
        await wait_until(
            lambda: any(p.id == "beta" and p.health == "DOWN" for p in owned.snapshot().providers),
            timeout=5,
            what="the owner to see beta DOWN",
        )
        ctl = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "battletui"), "ctl", "restore", "beta", "--sessions", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ctl.returncode == 0, ctl.stderr
        assert ctl.stdout.count("\n") == 1 and "restore beta" in ctl.stdout
        await wait_until(
            lambda: any("restore beta" in e.text for e in second.snapshot().events),
            timeout=5,
            what="the api action in the second viewer's events",
        )
        await pilot.press("q")  # the second viewer leaves
        await pilot.pause()
    assert app.return_value is None
    await asyncio.sleep(0)
    assert owned.snapshot().phase == "running"  # the session goes on
    sources = {
        (e["kind"], e["target"]): e["source"]
        for e in journal(owned.session_dir)
        if e["type"] == "action"
    }
    assert sources == {("kill", "beta"): "key", ("restore", "beta"): "api"}
    bad = subprocess.run(
        [str(BIN / "battletui"), "ctl", "kill", "zeta", "--session", str(owned.session_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "zeta" in bad.stderr


# -- no orphans, however it ends ----------------------------------------------------------


def write_scenario(tmp_path: Path, scenario: Scenario) -> Path:
    path = tmp_path / "scenario.yaml"
    dump_scenario(scenario, path)
    return path


@pytest.fixture
def replay_running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``battletui replay`` of a 60 s session, up and observed (control files written)."""
    path = write_scenario(tmp_path, small_scenario(rate=30, duration=60, workers=2))
    sessions = tmp_path / "sessions"
    process = subprocess.Popen(
        [str(BIN / "battletui"), "replay", str(path), "--sessions", str(sessions)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        folder: Path | None = None
        while folder is None:
            found = list(sessions.glob("*/control.json")) if sessions.exists() else []
            if found:
                folder = found[0].parent
            elif time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the replay did not start")
            else:
                time.sleep(0.05)
        yield process, folder
    finally:
        process.kill()
        process.wait()


def children_and_ports(pid: int, folder: Path) -> tuple[list[int], list[int]]:
    url, token = read_control(folder)
    deadline = time.monotonic() + 10
    while True:
        snap = httpx.get(url + "/snapshot", headers={"Authorization": f"Bearer {token}"}).json()
        if snap.get("gateway_url") and snap.get("providers"):
            break
        if time.monotonic() > deadline:
            pytest.fail("no snapshot with the lab and the gateway")
        time.sleep(0.05)
    ports = [int(urlsplit(p["url"]).port or 0) for p in snap["providers"]]
    ports.append(int(urlsplit(snap["gateway_url"]).port or 0))
    return descendants(pid), ports


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_an_engine_ended_by_a_signal_leaves_nothing(
    replay_running: tuple[subprocess.Popen[str], Path], how: str
) -> None:
    process, folder = replay_running
    others, ports = children_and_ports(process.pid, folder)
    assert len(others) == 4 and len(ports) == 4  # lab, gateway, two load workers
    process.send_signal(getattr(signal, how))
    code = process.wait(timeout=30)
    assert wait_all_gone([process.pid, *others], ports) == []
    if how == "SIGKILL":
        assert not (folder / "result.json").exists()  # `battletui report` rebuilds it
        done = subprocess.run(
            [str(BIN / "battletui"), "report", str(folder)], capture_output=True, timeout=60
        )
        assert done.returncode in (0, 1, 4), done.stderr
        assert (folder / "result.json").exists()
        assert not (folder / "control.json").exists()  # the dead engine's files are gone
        assert not (folder / "control.token").exists()
    else:
        assert code == 130
        result = json.loads((folder / "result.json").read_text())
        assert result["end_reason"] == "interrupted"
        assert not (folder / "control.json").exists()


@pytest.mark.parametrize("which", [0, 1])
def test_a_crashed_child_ends_the_session_which_is_still_written(
    replay_running: tuple[subprocess.Popen[str], Path], which: int
) -> None:
    process, folder = replay_running
    others, ports = children_and_ports(process.pid, folder)
    victim = sorted(others)[which]
    os.kill(victim, signal.SIGKILL)
    process.wait(timeout=30)
    assert wait_all_gone([process.pid, *others], ports) == []
    result = json.loads((folder / "result.json").read_text())
    assert result["end_reason"] in ("lab exited", "gateway exited")


async def test_the_engine_ends_and_writes_the_session_when_its_viewer_dies(
    tmp_path: Path,
) -> None:
    path = write_scenario(tmp_path, small_scenario(rate=30, duration=60))
    viewer = subprocess.Popen(
        [sys.executable, "-c", VIEWER, str(path), str(tmp_path / "sessions")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert viewer.stdout is not None
        started = json.loads(await asyncio.to_thread(viewer.stdout.readline))
        engine, folder = int(started["engine"]), Path(started["folder"])
        others, ports = children_and_ports(engine, folder)
        viewer.kill()
        viewer.wait()
        assert wait_all_gone([engine, *others], ports, timeout=20) == []
        result = json.loads((folder / "result.json").read_text())
        assert result["end_reason"] == "interrupted"
    finally:
        viewer.kill()
        viewer.wait()


VIEWER = """
import asyncio, json, sys
from pathlib import Path
from battletui.control.engine_link import OwnedSessionLink
from battletui.scenario import load_scenario

async def main():
    link = OwnedSessionLink(load_scenario(sys.argv[1]), sessions_root=Path(sys.argv[2]))
    await link.start()
    print(json.dumps({"engine": link.engine_pid, "folder": str(link.session_dir)}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_the_screen_says_so_when_its_engine_dies(tmp_path: Path) -> None:
    link = OwnedSessionLink(small_scenario(rate=30), sessions_root=tmp_path)
    app = BattleApp(link, owner=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(
            lambda: link.snapshot().phase == "running", timeout=10, what="the session to run"
        )
        engine = link.engine_pid
        assert engine is not None
        others = descendants(engine)
        ports = ports_of(link.snapshot())
        os.kill(engine, signal.SIGKILL)
        await wait_until(lambda: not app.is_running, timeout=10, what="the app to give up")
        await pilot.pause()
    assert app.lost_reason  # the CLI prints it and rebuilds the session from its journal
    assert app.return_code == 3
    assert wait_all_gone([engine, *others], ports) == []
    assert link.session_dir is not None and (link.session_dir / JOURNAL_NAME).is_file()


def test_the_engine_process_loads_neither_the_gateway_nor_the_providers() -> None:
    """The engine meets the system under test and the lab only over sockets: a fresh
    interpreter's view of its process entry (what they share is ``battletui.protocol``)."""
    probe = (
        "import sys, battletui.engine.__main__\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'battletui.gateway', 'battletui.providers', 'battletui.lab', 'battletui.ui',"
        " 'textual'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
