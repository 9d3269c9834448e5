"""``LabServer``: the mock chain, one mock provider per scenario provider, and the
fault-control endpoint, all on 127.0.0.1 in one event loop (the lab process's)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from aiohttp import web

from battletui.chain import MockChain
from battletui.lab.control import control_app
from battletui.lab.state import endpoint_json
from battletui.lab.truth import TruthFeeds
from battletui.providers import MockProvider
from battletui.scenario import Scenario

HOST = "127.0.0.1"


class LabStartError(RuntimeError):
    """The lab could not start (a port is taken, ...): one line, for exit code 3."""


class LabServer:
    """Providers listen on ``base_port + 1, + 2, ...`` in scenario order (free ports when
    ``base_port`` is None); the control endpoint on a free port of its own."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        base_port: int | None = None,
        token: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token:
            raise ValueError("the lab's control endpoint needs a token")
        self.scenario = scenario
        self.chain = MockChain(
            scenario.seed, scenario.chain.id, scenario.chain.block_time, clock=clock
        )
        self.providers: dict[str, MockProvider] = {}
        for index, spec in enumerate(scenario.providers, start=1):
            port = 0 if base_port is None else base_port + index
            self.providers[spec.id] = MockProvider(
                spec, self.chain, seed=scenario.seed, host=HOST, port=port
            )
        self._token = token
        self._feeds = TruthFeeds()
        self._runner: web.AppRunner | None = None
        self._control_port = 0

    @property
    def control_url(self) -> str:
        if self._runner is None:
            raise LabStartError("the lab is not started")
        return f"http://{HOST}:{self._control_port}"

    async def start(self) -> None:
        """Listen everywhere, or stop what started and raise ``LabStartError``."""
        try:
            for provider in self.providers.values():
                try:
                    await provider.start()
                except OSError as error:
                    where = f"{HOST}:{provider.port}"
                    raise LabStartError(
                        f"the lab could not start: provider {provider.id} cannot listen on"
                        f" {where}: {_reason(error)}"
                    ) from error
            runner = web.AppRunner(
                control_app(self.chain, self.providers, self._token, self._feeds),
                access_log=None,
            )
            await runner.setup()
            self._runner = runner
            site = web.TCPSite(runner, HOST, 0)
            try:
                await site.start()
            except OSError as error:
                raise LabStartError(
                    f"the lab could not start: its control endpoint cannot listen: {_reason(error)}"
                ) from error
            self._control_port = int(runner.addresses[0][1])
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """End the truth feeds, close the control endpoint, then every provider (ports
        released). Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await self._feeds.close()
            await runner.cleanup()
        for provider in self.providers.values():
            await provider.stop()

    def ready_message(self) -> dict[str, object]:
        """The lab process's ready line: where to control it and where its providers are."""
        return {
            "control": self.control_url,
            "pid": os.getpid(),
            "providers": [endpoint_json(p) for p in self.providers.values()],
        }


def _reason(error: OSError) -> str:
    """``address already in use``, not a repr of the bind arguments."""
    text = error.strerror or str(error)
    return " ".join(text.split()).lower() or type(error).__name__
