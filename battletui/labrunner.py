"""``battletui lab``: the mock providers and the reference gateway, each in its own process,
until Ctrl-C. Prints one line per server, ``id http-url ws-url``, the gateway first."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from battletui import exit_codes
from battletui.engine import LabError, LabProcess
from battletui.engine.gateway_process import GatewayProcess
from battletui.scenario import Scenario


async def run_lab(scenario: Scenario, *, base_port: int | None = None) -> int:
    lab: LabProcess | None = None
    gateway: GatewayProcess | None = None
    try:
        lab = await LabProcess.start(scenario, base_port=base_port)
        upstreams = [(spec.id, lab.providers[spec.id].url) for spec in scenario.providers]
        gateway = await GatewayProcess.start(scenario, upstreams, port=base_port)
    except LabError as error:
        if lab is not None:
            await lab.stop()
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.LAB_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"gateway {gateway.url} {gateway.ws_url}", flush=True)
    for spec in scenario.providers:
        provider = lab.providers[spec.id]
        print(f"{provider.id} {provider.url} {provider.ws_url}", flush=True)
    print("# Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        children = [asyncio.ensure_future(lab.child.wait()), asyncio.ensure_future(stop.wait())]
        children.append(asyncio.ensure_future(gateway.child.wait()))
        _, pending = await asyncio.wait(children, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
    finally:
        await gateway.stop()
        await lab.stop()
    return 0
