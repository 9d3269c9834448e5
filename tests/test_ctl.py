"""``battletui ctl`` against a real control server (fake session): one line, exit 0/1/2."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers.control_fakes import TOKEN, FakeSession, serving

from battletui.commands.ctl import add_ctl_parser, ctl_command
from battletui.control.files import write_control_files
from battletui.engine.control_server import ControlServer
from battletui.scenario import Action

SESSION = "20250101T120000Z-demo"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[ControlServer, FakeSession, Path]]:
    """A session folder under ``tmp_path/sessions`` whose control files point at the server."""
    folder = tmp_path / "sessions" / SESSION
    folder.mkdir(parents=True)
    async with serving(folder) as (server, session):
        write_control_files(folder, server.url, os.getpid(), TOKEN)
        yield server, session, tmp_path / "sessions"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="battletui")
    add_ctl_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["ctl", *argv])


async def ctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command in a thread (it runs its own event loop); the server stays on ours."""
    code = await asyncio.wait_for(asyncio.to_thread(ctl_command, parse(list(argv))), 30)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "applied", "line"),
    [
        (
            ["kill", "alpha"],
            Action("kill", "alpha"),
            "✓ kill alpha · port 40001 refuses connections",
        ),
        (["restore", "alpha"], Action("restore", "alpha"), "✓ restore alpha · port 40001"),
        (
            ["degrade", "beta", "--latency", "+100ms", "--jitter", "+20ms"],
            Action(
                "degrade", "beta", {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
            ),
            "✓ degrade beta +100ms jitter +20ms · ",
        ),
        (
            ["errors", "beta", "--rate", "0.5", "--kind", "rate-limit", "--retry-after=2s"],
            Action(
                "errors",
                "beta",
                {"rate": 0.5, "kind": "rate-limit", "code": -32603, "retry_after": 2.0},
            ),
            "✓ errors beta 50% rate-limit retry-after 2s · ",
        ),
        (
            ["errors", "gamma", "--rate", "1", "--kind", "rpc-error", "--code", "-32000"],
            Action(
                "errors",
                "gamma",
                {"rate": 1, "kind": "rpc-error", "code": -32000, "retry_after": 1.0},
            ),
            "✓ errors gamma 100% rpc-error -32000 · ",
        ),
        (["reorg", "--depth", "3"], Action("reorg", None, {"depth": 3}), "✓ reorg depth 3 · "),
        (["reorg", "2"], Action("reorg", None, {"depth": 2}), "✓ reorg depth 2 · "),
        (
            ["strategy", "round-robin"],
            Action("strategy", None, {"name": "round-robin"}),
            "✓ strategy round-robin · ",
        ),
        (
            ["mark", "gateway recovered"],
            Action("mark", None, {"label": "gateway recovered"}),
            "✓ mark 'gateway recovered' · ",
        ),
        (["mark", "42"], Action("mark", None, {"label": "42"}), "✓ mark '42' · "),
    ],
)
async def test_an_applied_action_exits_0_with_one_line(
    running: tuple[ControlServer, FakeSession, Path],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    applied: Action,
    line: str,
) -> None:
    _, session, root = running
    code, out, err = await ctl(capsys, *argv, "--sessions", str(root))
    assert (code, err) == (0, "")
    assert out.startswith(line) and out.count("\n") == 1
    assert session.applied == [(applied, "api")]


async def test_an_action_that_did_not_take_effect_exits_1(
    running: tuple[ControlServer, FakeSession, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, session, root = running
    session.verified = False
    code, out, err = await ctl(capsys, "kill", "alpha", "--sessions", str(root))
    assert (code, out, err) == (1, "✗ kill alpha · port 40001 still answers\n", "")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["kill", "zeta"], "target: unknown provider 'zeta' (known: alpha, beta, gamma)"),
        (["kill"], "target: kill needs a target provider"),
        (["kill", "alpha", "--foo", "1"], "foo: unknown parameter for kill (known: none)"),
        (["degrade", "beta", "--latency", "+100ms", "--jitter", "20ms"], "jitter: latency and"),
        (["errors", "beta", "--rate", "lots"], "rate: expected a number, got 'lots'"),
        (["reorg"], "depth: required key is missing"),
        (["strategy", "random"], "name: unknown strategy 'random'"),
    ],
)
async def test_an_invalid_action_exits_2_with_the_validators_message(
    running: tuple[ControlServer, FakeSession, Path],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    says: str,
) -> None:
    _, session, root = running
    code, out, err = await ctl(capsys, *argv, "--sessions", str(root))
    assert (code, out) == (2, "")
    assert err == f"battletui ctl: {says}" + err.split(says, 1)[1]
    assert err.count("\n") == 1
    assert session.applied == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["explode", "alpha"], "unknown action 'explode' (known: kill, restore"),
        (["kill", "alpha", "beta"], "unexpected 'beta' (parameters are --name value)"),
        (["degrade", "beta", "--latency"], "--latency needs a value"),
        (["reorg", "2", "--depth", "3"], "reorg's depth given twice"),
    ],
)
async def test_bad_usage_exits_2_before_any_request(
    running: tuple[ControlServer, FakeSession, Path],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    says: str,
) -> None:
    _, session, root = running
    code, out, err = await ctl(capsys, *argv, "--sessions", str(root))
    assert (code, out) == (2, "")
    assert err.startswith(f"battletui ctl: {says}") and err.count("\n") == 1
    assert session.applied == []


async def test_session_can_be_named(
    running: tuple[ControlServer, FakeSession, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, session, root = running
    code, _, _ = await ctl(capsys, "--session", str(root / SESSION), "kill", "alpha")
    assert code == 0
    code, _, _ = await ctl(capsys, "kill", "beta", "--session", str(root / SESSION))
    assert code == 0
    assert [action.target for action, _ in session.applied] == ["alpha", "beta"]


async def test_the_default_root_comes_from_the_environment(
    running: tuple[ControlServer, FakeSession, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, session, root = running
    monkeypatch.setenv("BATTLETUI_SESSIONS", str(root))
    code, _, _ = await ctl(capsys, "hang", "gamma")
    assert code == 0 and session.applied == [(Action("hang", "gamma"), "api")]


async def test_a_wrong_token_exits_2(
    running: tuple[ControlServer, FakeSession, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, session, root = running
    write_control_files(root / SESSION, server.url, os.getpid(), "not-the-token")
    code, out, err = await ctl(capsys, "kill", "alpha", "--sessions", str(root))
    assert (code, out) == (2, "")
    assert "refused the token (401)" in err and err.count("\n") == 1
    assert session.applied == []


async def test_no_running_session_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "sessions"
    code, out, err = await ctl(capsys, "kill", "alpha", "--sessions", str(root))
    assert (code, out) == (2, "")
    assert err == (
        f"battletui ctl: no running session under {root} (start one with `battletui run`)\n"
    )
    code, out, err = await ctl(capsys, "kill", "alpha", "--session", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == f"battletui ctl: no running session in {tmp_path} (no control.json)\n"


async def test_a_session_whose_engine_is_gone_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(tmp_path) as (server, _):
        url = server.url
    write_control_files(tmp_path, url, os.getpid(), TOKEN)
    code, out, err = await ctl(capsys, "kill", "alpha", "--session", str(tmp_path))
    assert (code, out) == (2, "")
    assert err.startswith(f"battletui ctl: cannot reach the session at {url}")
    assert err.count("\n") == 1


def test_help_lists_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl_command(parse(["kill", "--help"])) == 0
    out = capsys.readouterr().out
    assert "battletui ctl degrade beta --latency +100ms" in out
