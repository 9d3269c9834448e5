"""The control API on a real port, over a fake session: auth, state, stream, actions, finish."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.control_fakes import TOKEN, FakeSession, serving
from helpers.waiting import wait_until
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from battletui.control.client import (
    ControlClient,
    Rejected,
    RemoteSessionLink,
    SessionLost,
    StreamEnd,
    Unauthorized,
    Unreachable,
)
from battletui.control.codec import snapshot_from_json
from battletui.engine.control_server import ControlServer
from battletui.metrics import Snapshot
from battletui.scenario import Action

DEADLINE = 5.0
ENDPOINTS = [("GET", "/state"), ("GET", "/snapshot"), ("POST", "/actions"), ("POST", "/finish")]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ControlServer, FakeSession]]:
    async with serving(tmp_path) as pair:
        yield pair


def ws_url(server: ControlServer) -> str:
    return server.url.replace("http", "ws", 1) + "/stream"


async def take(stream: AsyncIterator[Any], count: int) -> list[Any]:
    """The next ``count`` items, or fail after the deadline."""

    async def collect() -> list[Any]:
        return [await anext(stream) for _ in range(count)]

    return await asyncio.wait_for(collect(), DEADLINE)


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Bearer"}],
    ids=["none", "wrong", "no-scheme", "empty"],
)
async def test_every_endpoint_refuses_a_missing_or_wrong_token(
    served: tuple[ControlServer, FakeSession], headers: dict[str, str]
) -> None:
    server, session = served
    async with httpx.AsyncClient(base_url=server.url) as http:
        for method, path in ENDPOINTS:
            response = await http.request(
                method, path, headers=headers, json={"kind": "kill", "target": "alpha"}
            )
            assert response.status_code == 401, path
            assert set(response.json()) == {"error"}
            assert response.headers["WWW-Authenticate"] == "Bearer"
    with pytest.raises(InvalidStatus) as caught:
        async with connect(ws_url(server), additional_headers=headers, proxy=None):
            pass
    assert caught.value.response.status_code == 401
    assert session.applied == [] and session.finish_reason is None


async def test_the_client_says_the_token_was_refused(
    served: tuple[ControlServer, FakeSession],
) -> None:
    server, _ = served
    async with ControlClient(server.url, "wrong") as client:
        with pytest.raises(Unauthorized, match="refused the token"):
            await client.state()
        with pytest.raises(Unauthorized, match="refused the token"):
            await anext(client.snapshots())


async def test_only_loopback_is_listened_on(served: tuple[ControlServer, FakeSession]) -> None:
    server, session = served
    assert server.url.startswith("http://127.0.0.1:")
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="loopback only"):
            ControlServer(session, TOKEN, host=host)


# -- reading ---------------------------------------------------------------------------------


async def test_state(served: tuple[ControlServer, FakeSession], tmp_path: Path) -> None:
    server, _ = served
    async with ControlClient(server.url, TOKEN) as client:
        state = await client.state()
    assert state["phase"] == "running"
    assert state["scenario"] == "demo"
    assert state["elapsed"] == 41.0
    assert state["session_dir"] == str(tmp_path)
    assert isinstance(state["pid"], int)


async def test_snapshot_round_trip(served: tuple[ControlServer, FakeSession]) -> None:
    server, session = served
    async with ControlClient(server.url, TOKEN) as client:
        snap = await client.snapshot()
    assert snap == dataclasses.replace(session.snapshot(), requests=snap.requests)


async def test_the_stream_delivers_snapshots_then_the_end(
    served: tuple[ControlServer, FakeSession], tmp_path: Path
) -> None:
    server, session = served
    async with ControlClient(server.url, TOKEN) as client:
        stream = client.stream()
        first = await take(stream, 3)
        assert all(isinstance(item, Snapshot) for item in first)
        counts = [item.requests for item in first]
        assert counts == sorted(counts) and len(set(counts)) == 3  # fresh ones, in order
        session.request_finish("quit")
        rest: list[Any] = []
        while not rest or not isinstance(rest[-1], StreamEnd):
            rest += await take(stream, 1)
    assert rest[-1] == StreamEnd(str(tmp_path), 0)
    assert isinstance(rest[-2], Snapshot) and rest[-2].phase == "ended"
    assert rest[-2].session_dir == str(tmp_path)


async def test_viewers_share_one_snapshot_per_tick_and_idle_costs_nothing(
    served: tuple[ControlServer, FakeSession],
) -> None:
    server, session = served
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        connect(ws_url(server), additional_headers=headers, proxy=None) as one,
        connect(ws_url(server), additional_headers=headers, proxy=None) as two,
    ):
        seen_one = [json.loads(await asyncio.wait_for(one.recv(), DEADLINE)) for _ in range(6)]
        seen_two = [json.loads(await asyncio.wait_for(two.recv(), DEADLINE)) for _ in range(6)]
    ticks_one = {m["snapshot"]["requests"] for m in seen_one}
    ticks_two = {m["snapshot"]["requests"] for m in seen_two}
    assert len(ticks_one & ticks_two) >= 3  # the same builds reached both viewers
    assert all(m["type"] == "snapshot" for m in seen_one + seen_two)
    assert snapshot_from_json(seen_one[0]["snapshot"]).scenario == "demo"
    await wait_until(lambda: not server._viewers, timeout=DEADLINE, what="viewers to leave")
    await wait_until(
        lambda: server._ticker is not None and server._ticker.done(),
        timeout=DEADLINE,
        what="the ticker to stop",
    )
    builds = session.builds
    await asyncio.sleep(0.1)  # five periods at 50 Hz: nothing may be built meanwhile
    assert session.builds == builds


async def test_stopping_the_server_is_a_lost_session(tmp_path: Path) -> None:
    async with serving(tmp_path) as (server, _):
        client = ControlClient(server.url, TOKEN)
        stream = client.stream()
        await take(stream, 1)
        await server.stop()
        with pytest.raises(SessionLost):
            await take(stream, 5)
        await client.aclose()


# -- acting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "source", "applied"),
    [
        (Action("kill", "alpha"), "api", Action("kill", "alpha")),
        (
            Action(
                "degrade", "beta", {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
            ),
            "key",
            Action(
                "degrade", "beta", {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
            ),
        ),
        (
            Action("degrade", "beta", {"latency": "+100ms", "jitter": "+20ms"}),
            "api",
            Action(
                "degrade", "beta", {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}
            ),
        ),
        (
            Action("reorg", None, {"depth": 3}),
            "timeline",
            Action("reorg", None, {"depth": 3}),
        ),
    ],
)
async def test_actions_are_checked_normalised_and_applied(
    served: tuple[ControlServer, FakeSession], sent: Action, source: Any, applied: Action
) -> None:
    server, session = served
    async with ControlClient(server.url, TOKEN) as client:
        outcome = await client.apply(sent, source)
    assert session.applied == [(applied, source)]
    assert outcome.applied and outcome.action == applied and outcome.source == source
    assert outcome.detail == "port 40001 refuses connections"


async def test_source_defaults_to_api(served: tuple[ControlServer, FakeSession]) -> None:
    server, session = served
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        response = await http.post("/actions", json={"kind": "kill", "target": "gamma"})
    assert response.status_code == 200
    assert response.json()["source"] == "api"
    assert session.applied == [(Action("kill", "gamma"), "api")]


async def test_an_action_that_did_not_take_effect_is_200_not_applied(
    served: tuple[ControlServer, FakeSession],
) -> None:
    server, session = served
    session.verified = False
    async with ControlClient(server.url, TOKEN) as client:
        outcome = await client.apply(Action("kill", "alpha"))
    assert not outcome.applied
    assert outcome.error == "port 40001 still answers"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "must be a JSON object"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"kind": "kill", "target": "alpha", "when": 1}', "unknown key 'when'"),
        (b'{"kind": "kill", "target": "alpha", "source": "robot"}', "source: expected one of"),
        (b'{"target": "alpha"}', "kind: expected an action name"),
        (b'{"kind": "explode"}', "kind: unknown action 'explode'"),
        (b'{"kind": "kill", "target": "zeta"}', "target: unknown provider 'zeta'"),
        (b'{"kind": "kill", "target": "alpha", "params": {"foo": 1}}', "foo: unknown parameter"),
        (b'{"kind": "degrade", "target": "beta", "params": {"latency": "x"}}', "latency:"),
        (b'{"kind": "reorg", "params": {"depth": 0}}', "depth: must be 1 or more"),
    ],
)
async def test_bad_actions_are_400_with_one_line(
    served: tuple[ControlServer, FakeSession], body: bytes, says: str
) -> None:
    server, session = served
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        response = await http.post("/actions", content=body)
    assert response.status_code == 400
    message = response.json()["error"]
    assert says in message and "\n" not in message
    assert session.applied == []


async def test_the_client_raises_rejected_on_400(
    served: tuple[ControlServer, FakeSession],
) -> None:
    server, _ = served
    async with ControlClient(server.url, TOKEN) as client:
        with pytest.raises(Rejected, match="target: unknown provider 'zeta'"):
            await client.apply(Action("kill", "zeta"))


async def test_finish_waits_for_the_session_to_be_written(
    served: tuple[ControlServer, FakeSession], tmp_path: Path
) -> None:
    server, session = served
    async with ControlClient(server.url, TOKEN) as client:
        answer = await client.finish("quit")
        assert answer == {"session_dir": str(tmp_path), "exit_code": 0}
        assert session.phase == "ended" and session.finish_reason == "quit"
        late = await take(client.stream(), 2)  # a viewer joining now gets the end at once
        assert isinstance(late[0], Snapshot) and late[0].phase == "ended"
        assert late[1] == StreamEnd(str(tmp_path), 0)
        assert (await client.state())["phase"] == "ended"


# -- the remote link -------------------------------------------------------------------------


async def test_a_viewer_follows_acts_and_leaves_without_ending(
    served: tuple[ControlServer, FakeSession],
) -> None:
    server, session = served
    link = RemoteSessionLink(server.url, TOKEN, owner=False)
    assert link.snapshot().phase == "starting"  # before start: an empty picture, no error
    await link.start()
    assert link.snapshot().scenario == "demo"
    seen = link.snapshot().requests
    await wait_until(lambda: link.snapshot().requests > seen + 2, what="streamed snapshots")
    outcome = await link.apply(Action("kill", "beta"))
    assert outcome.applied and session.applied == [(Action("kill", "beta"), "key")]
    refused = await link.apply(Action("kill", "zeta"))
    assert not refused.applied and refused.error is not None and "zeta" in refused.error
    assert await link.finish("quit") is None
    assert session.phase == "running" and session.finish_reason is None
    assert not link.lost


async def test_the_owner_ends_and_writes_the_session(
    served: tuple[ControlServer, FakeSession], tmp_path: Path
) -> None:
    server, session = served
    owner = RemoteSessionLink(server.url, TOKEN, owner=True)
    other = RemoteSessionLink(server.url, TOKEN, owner=False)
    await owner.start()
    await other.start()
    assert await owner.finish("quit") == tmp_path
    assert owner.exit_code == 0 and session.finish_reason == "quit"
    await wait_until(lambda: other.lost, timeout=DEADLINE, what="the other viewer to notice")
    assert other.lost_reason == f"the session ended (written to {tmp_path})"
    assert other.snapshot().phase == "ended"
    assert await other.finish("quit") is None


async def test_a_viewer_notices_the_engine_going_away(tmp_path: Path) -> None:
    engine = {"alive": True}  # what a viewer asks (the engine's pid) before reconnecting
    async with serving(tmp_path) as (server, _):
        link = RemoteSessionLink(
            server.url, TOKEN, owner=False, engine_alive=lambda: engine["alive"]
        )
        await link.start()
        await wait_until(lambda: bool(server._viewers), timeout=DEADLINE, what="the stream")
        engine["alive"] = False
        await server.stop()
        await wait_until(lambda: link.lost, timeout=DEADLINE, what="the link to be lost")
        assert link.lost_reason is not None and "lost the session" in link.lost_reason
        outcome = await link.apply(Action("kill", "alpha"))
        assert not outcome.applied and "cannot reach the session" in (outcome.error or "")
        await link.finish("quit")


async def test_joining_a_session_that_is_gone_says_so(tmp_path: Path) -> None:
    async with serving(tmp_path) as (server, _):
        url = server.url
    link = RemoteSessionLink(url, TOKEN, owner=True)
    with pytest.raises(Unreachable, match=f"cannot reach the session at {url}"):
        await link.start()
