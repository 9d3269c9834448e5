"""The session clock starts once the gateway under test answers JSON-RPC, not merely once it
listens: a proxy whose first health checks have not yet passed answers 503, and that
start-up must not be judged as an outage. Real aiohttp servers on real ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from battletui.engine.errors import SessionStartError
from battletui.engine.target import wait_serving

Answer = Callable[[int], web.Response]


async def serve(answer: Answer) -> tuple[web.AppRunner, str, list[int]]:
    """A gateway whose n-th answer (from 0) is ``answer(n)``; also returns the call count."""
    calls = [0]

    async def rpc(request: web.Request) -> web.Response:
        await request.read()
        n = calls[0]
        calls[0] += 1
        return answer(n)

    app = web.Application()
    app.router.add_post("/", rpc)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", calls


@pytest.fixture
async def runners() -> AsyncIterator[list[web.AppRunner]]:
    started: list[web.AppRunner] = []
    yield started
    for runner in started:
        await runner.cleanup()


def chain_id(value: str) -> web.Response:
    return web.json_response({"jsonrpc": "2.0", "id": 1, "result": value})


async def test_it_waits_through_503s_until_the_chain_id_answers(
    runners: list[web.AppRunner],
) -> None:
    def answer(n: int) -> web.Response:
        if n < 3:
            return web.Response(status=503, text="<html>No server is available</html>")
        return chain_id("0x1")

    runner, url, calls = await serve(answer)
    runners.append(runner)
    waited = await wait_serving(url, 1, timeout=10)
    assert calls[0] == 4 and waited > 0


async def test_a_gateway_in_front_of_another_chain_is_one_line_with_its_last_answer(
    runners: list[web.AppRunner],
) -> None:
    runner, url, calls = await serve(lambda n: chain_id("0x5"))
    runners.append(runner)
    with pytest.raises(SessionStartError) as info:
        await wait_serving(url, 1, timeout=0.5)
    message = str(info.value)
    assert "\n" not in message and calls[0] >= 2
    assert f"the target {url} accepts connections but did not answer eth_chainId with 0x1" in (
        message
    )
    assert "HTTP 200" in message and '"0x5"' in message and "lab.json" in message


async def test_a_gateway_that_only_ever_says_503_is_named_with_its_status(
    runners: list[web.AppRunner],
) -> None:
    runner, url, _ = await serve(lambda n: web.Response(status=503, text="no server"))
    runners.append(runner)
    with pytest.raises(SessionStartError, match=r"last: HTTP 503: no server"):
        await wait_serving(url, 1, timeout=0.5)
