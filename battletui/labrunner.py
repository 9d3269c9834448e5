"""``battletui lab``: the mock providers and the reference gateway, on their own until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from battletui import exit_codes
from battletui.engine import Lab, LabError
from battletui.scenario import Scenario


async def run_lab(scenario: Scenario, *, base_port: int | None = None) -> int:
    lab = Lab(scenario, base_port=base_port)
    try:
        await lab.start()
    except LabError as error:
        print(f"battletui: {error}", file=sys.stderr)
        return exit_codes.LAB_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"gateway {lab.gateway_url} {lab.gateway_ws_url}", flush=True)
    for provider in lab.providers.values():
        print(f"{provider.id} {provider.url} {provider.ws_url}", flush=True)
    print("# Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await lab.stop()
    return 0
