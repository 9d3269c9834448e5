"""``python -m battletui.lab``: the lab as a child process of the engine.

Reads one JSON line of configuration on stdin (``scenario``: YAML text, ``base_port``:
int or null, ``token``), starts the ``LabServer``, reports ``{"control", "pid",
"providers": [{"id", "url", "ws_url", "port"}, ...]}`` and serves until the parent closes
the pipe, goes away, or sends SIGTERM; then closes every provider (ports released).
A port already taken is reported as one line and the engine exits with code 3.
"""

from __future__ import annotations

import asyncio
import importlib

from battletui.lab.server import LabServer, LabStartError
from battletui.processes import ChildContext, child_main
from battletui.scenario import ScenarioError, loads_scenario

BAD_CONFIG = 2
COULD_NOT_START = 3


async def run(context: ChildContext) -> int:
    config = context.config
    try:
        scenario = loads_scenario(str(config["scenario"]), path="<engine>", fmt="yaml")
        token = str(config["token"])
        base_port = config.get("base_port")
        if base_port is not None and (type(base_port) is not int):
            raise ValueError(f"base_port must be a whole number, got {base_port!r}")
        server = LabServer(scenario, base_port=base_port, token=token)
    except (KeyError, ValueError, ScenarioError) as error:
        context.fail(f"the lab could not start: bad configuration: {error}")
        return BAD_CONFIG
    try:
        await server.start()
    except LabStartError as error:
        context.fail(str(error))
        return COULD_NOT_START
    try:
        context.ready(server.ready_message())
        # a dapp's first raw transaction should not wait a second for eth-account's import:
        # done while the gateway and the load start, before any request is timed
        warm = asyncio.create_task(asyncio.to_thread(importlib.import_module, "eth_account"))
        await context.stop.wait()
        await warm
    finally:
        await server.stop()
    return 0


if __name__ == "__main__":
    child_main(run)
