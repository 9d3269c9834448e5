"""``python -m battletui.gateway``: the reference gateway alone in its own process.

A production gateway runs apart from whoever measures it; so does this one. The engine
writes one JSON line of configuration on stdin::

    {"scenario": "<the scenario as YAML>", "upstreams": [{"id": "alpha", "url": "..."}],
     "port": 8545}                                  # port: null for any free port

The scenario's ``gateway`` section and ``seed`` configure it; ``upstreams`` says where the
providers listen. Once it listens it answers ``{"url", "ws_url", "admin", "pid"}`` (``admin``
is the base URL of ``/health``, ``/events`` and ``/admin/strategy``, on the same port) and
serves until the parent closes the pipe, goes away, or sends SIGTERM; then it closes its
clients (``/events`` gets its last words first) and its port. A port already taken, or a
configuration it cannot use, is reported as one line: ``the gateway could not start: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from battletui.gateway.app import Gateway
from battletui.gateway.upstream_client import Upstream
from battletui.processes import ChildContext, child_main
from battletui.scenario import Scenario, ScenarioError, loads_scenario

CANNOT_START: Final = "the gateway could not start"
BAD_CONFIG: Final = 2
COULD_NOT_START: Final = 3


@dataclass(frozen=True)
class GatewayConfig:
    scenario: Scenario
    upstreams: tuple[Upstream, ...]
    port: int


def read_config(config: Mapping[str, Any]) -> GatewayConfig:
    """The configuration line, checked; ValueError / ScenarioError say what is wrong."""
    scenario = loads_scenario(str(config["scenario"]), path="<engine>", fmt="yaml")
    listed = config["upstreams"]
    if not isinstance(listed, list) or not listed:
        raise ValueError("upstreams: expected a non-empty list of {id, url}")
    upstreams: list[Upstream] = []
    for entry in listed:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(key), str) for key in ("id", "url")
        ):
            raise ValueError(f"upstreams: expected {{id, url}}, got {entry!r}")
        upstreams.append(Upstream(entry["id"], entry["url"]))
    port = config.get("port")
    if port is None:
        port = 0
    if type(port) is not int or not 0 <= port <= 65535:
        raise ValueError(f"port: expected a port number or null, got {port!r}")
    return GatewayConfig(scenario, tuple(upstreams), port)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


async def run(context: ChildContext) -> int:
    logging.basicConfig(level=logging.WARNING, format="gateway %(levelname)s %(message)s")
    try:
        config = read_config(context.config)
        gateway = Gateway(
            config.scenario.gateway,
            config.upstreams,
            seed=config.scenario.seed,
            port=config.port,
        )
    except (KeyError, TypeError, ValueError, ScenarioError) as error:
        context.fail(f"{CANNOT_START}: bad configuration: {_one_line(error)}")
        return BAD_CONFIG
    try:
        await gateway.start()
    except OSError as error:
        context.fail(f"{CANNOT_START}: {_one_line(error)}")
        return COULD_NOT_START
    try:
        context.ready(
            {
                "url": gateway.url,
                "ws_url": gateway.ws_url,
                "admin": gateway.url,
                "pid": os.getpid(),
            }
        )
        await context.stop.wait()
    finally:
        await gateway.stop()
    print(f"battletui gateway: stopped ({context.stop_reason or 'asked to'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    child_main(run)
