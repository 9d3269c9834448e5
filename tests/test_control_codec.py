"""The control API's wire format: snapshots and actions survive JSON exactly."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from helpers.fake_link import frozen_snapshot

from battletui.control.codec import (
    CodecError,
    action_from_json,
    action_to_json,
    snapshot_from_json,
    snapshot_to_json,
)
from battletui.control.outcome import ActionOutcome
from battletui.metrics import LatencyStats, ProviderView, Snapshot
from battletui.scenario import Action


def rich_snapshot() -> Snapshot:
    """The frozen demo picture with every optional field filled in too."""
    return dataclasses.replace(
        frozen_snapshot(),
        phase="ended",
        window_success_rate=None,
        errors={"transport": 10, "http 503": 4},
        failed_over=12,
        failover_latency=LatencyStats(12, 80.0, 120.5, 130.0, 131.0, 131.5),
        session_dir="sessions/20250101T000000Z-demo",
        message="kill alpha failed: port still answers",
    )


def wire(data: Any) -> Any:
    """What the other end reads: strict JSON text, parsed again."""
    return json.loads(json.dumps(data, allow_nan=False))


def test_every_field_round_trips_exactly() -> None:
    snap = rich_snapshot()
    back = snapshot_from_json(wire(snapshot_to_json(snap)))
    assert back == snap
    assert isinstance(back.providers, tuple)
    assert isinstance(back.providers[0], ProviderView)
    assert isinstance(back.providers[1].faults, tuple)
    assert isinstance(back.bars.edges_ms, tuple)
    assert isinstance(back.errors, Mapping)
    assert back.ws == snap.ws
    assert back.verdict is True


def test_the_json_names_every_field() -> None:
    data = snapshot_to_json(rich_snapshot())
    assert set(data) == {f.name for f in dataclasses.fields(Snapshot)}
    assert set(data["providers"][0]) == {f.name for f in dataclasses.fields(ProviderView)}
    assert data["events"][1] == {
        "offset": 10.0,
        "text": "kill alpha ✓ port 40001 refuses connections",
        "level": "warn",
    }


def test_a_bare_snapshot_round_trips() -> None:
    snap = Snapshot("s", "starting", 0.0, 60.0, 10.0, "fastest")
    assert snapshot_from_json(wire(snapshot_to_json(snap))) == snap


def test_missing_keys_take_their_defaults() -> None:
    """JSON from an older engine (fewer fields) still reads."""
    data = wire(snapshot_to_json(rich_snapshot()))
    for key in ("events", "ws", "message", "errors", "slos"):
        del data[key]
    del data["providers"][1]["faults"]
    back = snapshot_from_json(data)
    assert back.events == () and back.ws is None and back.message is None
    assert dict(back.errors) == {} and back.slos == ()
    assert back.providers[1].faults == ()
    assert back.providers[0] == rich_snapshot().providers[0]


def test_unknown_keys_are_ignored() -> None:
    """JSON from a newer engine (more fields) still reads."""
    data = wire(snapshot_to_json(rich_snapshot()))
    data["from_the_future"] = {"x": 1}
    data["providers"][0]["new_figure"] = 3
    data["latency_total"]["p9999"] = 1.0
    assert snapshot_from_json(data) == rich_snapshot()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.pop("scenario"), "missing scenario"),
        (lambda d: d["providers"][0].pop("id"), "missing id"),
        (lambda d: d.__setitem__("providers", {"a": 1}), "expected a list"),
        (lambda d: d.__setitem__("elapsed", "soon"), "expected a number"),
        (lambda d: d.__setitem__("ws", [1]), "expected an object"),
    ],
)
def test_json_that_does_not_fit_is_a_codec_error(change: Any, says: str) -> None:
    data = wire(snapshot_to_json(rich_snapshot()))
    change(data)
    with pytest.raises(CodecError, match=says):
        snapshot_from_json(data)


@pytest.mark.parametrize(
    "action",
    [
        Action("kill", "alpha"),
        Action("degrade", "beta", {"latency": 0.1, "jitter": 0.02, "relative": True, "method": ""}),
        Action("errors", "beta", {"rate": 0.5, "kind": "rate-limit", "code": -32603}),
        Action("flap", "gamma", {"down": 2.0, "up": 3.0, "cycles": 0}),
        Action("reorg", None, {"depth": 3}),
        Action("mark", None, {"label": "gateway recovered ✓"}),
    ],
)
def test_actions_round_trip(action: Action) -> None:
    data = wire(action_to_json(action))
    assert data == {"kind": action.kind, "target": action.target, "params": dict(action.params)}
    assert action_from_json(data) == action


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"target": "alpha"}, "kind: expected an action name"),
        ({"kind": 3}, "kind: expected an action name"),
        ({"kind": "kill", "target": 1}, "target: expected a provider id or null"),
        ({"kind": "kill", "params": [1]}, "params: expected an object"),
        ({"kind": "degrade", "params": {"latency": [1]}}, "params.latency: expected a string"),
        ({"kind": "degrade", "params": {"latency": None}}, "params.latency: expected a string"),
    ],
)
def test_action_shapes_are_checked(data: dict[str, Any], says: str) -> None:
    with pytest.raises(CodecError, match=says):
        action_from_json(data)


def test_an_outcome_round_trips() -> None:
    for outcome in (
        ActionOutcome(Action("kill", "alpha"), 12.345, "api", True, "port 1 refuses connections"),
        ActionOutcome(Action("reorg", None, {"depth": 2}), 3.0, "key", False, error="lab gone"),
    ):
        assert ActionOutcome.from_json(wire(outcome.to_json())) == outcome


def test_a_malformed_outcome_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="malformed action outcome"):
        ActionOutcome.from_json({"kind": "kill", "source": "api"})
    with pytest.raises(ValueError, match="unknown action source"):
        ActionOutcome.from_json({"kind": "kill", "source": "robot", "offset": 1, "applied": True})


def test_the_control_package_keeps_its_walls() -> None:
    """Viewers and ``ctl`` load no engine, system under test or Textual (fresh interpreter)."""
    code = (
        "import sys, battletui.control, battletui.control.client, battletui.commands.ctl\n"
        "walls = ('textual', 'battletui.engine', 'battletui.gateway', 'battletui.providers',\n"
        "         'battletui.workload', 'battletui.ui', 'battletui.lab')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'\n"
        "             or any(m == w or m.startswith(w + '.') for w in walls[1:])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
