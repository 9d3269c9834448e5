"""The lean HTTP/1.1 client and server (``battletui.wire``) on real sockets.

The client is tested against small servers that answer exactly the bytes a test wants
(keep-alive, chunked, close-delimited, truncated, reset), the server with aiohttp's client
and raw sockets, including the hand-off of other requests (``GET /health``, a WebSocket) to
aiohttp on the same port.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from battletui.wire import (
    ConnectFailed,
    Disconnected,
    FastPostServer,
    HttpPool,
    PoolFull,
    PostReply,
    WireError,
    loads,
)

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One whole request (headers + Content-Length body); b"" at EOF."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + await reader.readexactly(length)


class RawServer:
    """A server whose every connection runs ``answer``; counts connections."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self._answer(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


Raw = Callable[[Answer], Awaitable[tuple["RawServer", str]]]


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    servers: list[RawServer] = []

    async def make(answer: Answer) -> tuple[RawServer, str]:
        server = RawServer(answer)
        servers.append(server)
        return server, await server.start()

    yield make
    for server in servers:
        await server.stop()


def ok(body: bytes, *extra: bytes) -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), headers, body)


async def echo_keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        request = await read_request(reader)
        body = request.split(b"\r\n\r\n", 1)[1]
        writer.write(ok(body, b"X-Upstream: alpha"))
        await writer.drain()


# -- the client -----------------------------------------------------------------------------


async def test_keep_alive_reuses_connections_and_the_pool_is_bounded(raw: Raw) -> None:
    server, url = await raw(echo_keep_alive)
    pool = HttpPool(url, size=3)
    answers = await asyncio.gather(*(pool.post(b'{"n":%d}' % i) for i in range(40)))
    assert [loads(a.body)["n"] for a in answers] == list(range(40))
    assert all(a.status == 200 and a.headers["x-upstream"] == "alpha" for a in answers)
    assert server.connections == 3 and pool.connects == 3, "bounded, then reused"
    for _ in range(5):
        await pool.post(b"{}")
    assert server.connections == 3
    await pool.close()


async def test_requests_beyond_the_waiting_limit_fail_with_pool_full(raw: Raw) -> None:
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.write(ok(b"{}"))
        await writer.drain()

    _, url = await raw(slow)
    pool = HttpPool(url, size=1, max_waiting=1)
    first = asyncio.ensure_future(pool.post(b"{}"))
    second = asyncio.ensure_future(pool.post(b"{}"))
    await asyncio.sleep(0.05)
    assert pool.waiting == 1
    with pytest.raises(PoolFull):
        await pool.post(b"{}")
    release.set()
    assert (await first).status == 200
    assert (await second).status == 200, "the waiter got a connection once one came back"
    await pool.close()


async def test_a_refused_connection_is_connect_failed_with_its_errno() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    pool = HttpPool(f"http://127.0.0.1:{port}/", size=2)
    with pytest.raises(ConnectFailed) as info:
        await pool.post(b"{}")
    assert info.value.errno == errno.ECONNREFUSED
    assert pool.open == 0, "a failed connect gives its slot back"
    await pool.close()


async def test_close_before_any_answer_is_server_disconnected(raw: Raw) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    _, url = await raw(hang_up)
    pool = HttpPool(url)
    with pytest.raises(Disconnected, match="server disconnected") as info:
        await pool.post(b"{}")
    assert not info.value.partial and not info.value.reset
    await pool.close()


async def test_a_body_shorter_than_its_length_is_a_truncated_response(raw: Raw) -> None:
    async def truncate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"jsonrpc"')
        await writer.drain()

    _, url = await raw(truncate)
    pool = HttpPool(url)
    with pytest.raises(Disconnected, match="truncated response") as info:
        await pool.post(b"{}")
    assert info.value.partial
    await pool.close()


async def test_a_reset_is_connection_reset(raw: Raw) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()

    _, url = await raw(reset)
    pool = HttpPool(url)
    with pytest.raises(Disconnected, match="connection reset") as info:
        await pool.post(b"{}")
    assert info.value.reset
    await pool.close()


async def test_chunked_close_delimited_and_connection_close_answers(raw: Raw) -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
            )
            await writer.drain()

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.0 200 OK\r\n\r\n{"b":2}')
        await writer.drain()

    async def says_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok(b'{"c":3}', b"Connection: close"))
        await writer.drain()
        await asyncio.sleep(0.2)  # the client must not wait for this close to answer

    server, url = await raw(chunked)
    pool = HttpPool(url, size=1)
    assert [loads((await pool.post(b"{}")).body) for _ in range(3)] == [{"a": 1}] * 3
    assert server.connections == 1
    await pool.close()

    _, url = await raw(until_close)
    pool = HttpPool(url)
    assert loads((await pool.post(b"{}")).body) == {"b": 2}
    await pool.close()

    server, url = await raw(says_close)
    pool = HttpPool(url, size=1)
    for _ in range(2):
        answer = await asyncio.wait_for(pool.post(b"{}"), 0.15)
        assert not answer.keep_alive and loads(answer.body) == {"c": 3}
    assert server.connections == 2, "a connection the server closes is not reused"
    await pool.close()


async def test_a_cancelled_request_never_gives_its_connection_to_the_next(raw: Raw) -> None:
    async def late_then_fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(0.3)
        writer.write(ok(b'{"late":true}'))  # the answer to a request given up on
        while True:
            await read_request(reader)
            writer.write(ok(b'{"fresh":true}'))
            await writer.drain()

    server, url = await raw(late_then_fast)
    pool = HttpPool(url, size=1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pool.post(b"{}")
    answer = await pool.post(b"{}")
    assert loads(answer.body) == {"late": True} or server.connections == 2
    assert server.connections == 2, "the timed-out connection was closed, a new one opened"
    await pool.close()
    with pytest.raises(WireError):
        await pool.post(b"{}")


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        HttpPool("ws://127.0.0.1:1/")


def test_loads_falls_back_for_what_orjson_refuses() -> None:
    huge = 2**70
    assert loads(b'{"id": %d}' % huge) == {"id": huge}
    with pytest.raises(ValueError):
        loads(b"{nope")


# -- the server -----------------------------------------------------------------------------


class Served:
    def __init__(self, front: FastPostServer, runner: web.AppRunner, port: int) -> None:
        self.front, self.runner, self.port = front, runner, port
        self.url = f"http://127.0.0.1:{port}/"
        self.bodies: list[bytes] = []


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    bodies: list[bytes] = []

    async def handler(body: bytes) -> PostReply:
        bodies.append(body)
        return 200, b'{"jsonrpc":"2.0","id":1,"result":"fast"}', [("X-Upstream", "alpha")]

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def post_slow(request: web.Request) -> web.Response:
        return web.json_response({"result": "aiohttp"})

    async def ws(request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        async for message in socket_:
            await socket_.send_str(f"echo {message.data}")
        return socket_

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/", ws)
    app.router.add_post("/", post_slow)
    runner = web.AppRunner(app)
    await runner.setup()
    assert runner.server is not None
    front = FastPostServer(handler, runner.server, max_body=1000, idle_timeout=0.4)
    port = await front.start("127.0.0.1", 0)
    served = Served(front, runner, port)
    served.bodies = bodies
    yield served
    await front.close()
    await runner.cleanup()


async def test_post_is_answered_on_the_fast_path_and_the_rest_by_aiohttp(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(served.url, data=b'{"m":1}') as response:
            assert response.status == 200
            assert response.headers["X-Upstream"] == "alpha"
            assert (await response.json())["result"] == "fast"
        async with http.get(served.url + "health") as response:
            assert (await response.json()) == {"status": "ok"}
        async with http.ws_connect(served.url) as ws:
            await ws.send_str("hi")
            assert (await ws.receive()).data == "echo hi"
    assert served.bodies == [b'{"m":1}']


async def test_keep_alive_then_another_endpoint_on_the_same_connection(served: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    request = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    writer.write(request)
    first = await reader.readuntil(b'"fast"}')
    assert first.startswith(b"HTTP/1.1 200 OK")
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    second = await reader.readuntil(b'"ok"}')
    assert b"HTTP/1.1 200 OK" in second, "handed to aiohttp mid-connection"
    writer.write(request)  # aiohttp now owns the connection, and serves POST / too
    third = await reader.readuntil(b"}")
    assert b'"aiohttp"' in third or b'"fast"' in third
    writer.close()


async def test_expect_continue_large_bodies_and_idle_connections(served: Served) -> None:
    port = served.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n")
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b'{"a":1}')
    assert (await reader.readuntil(b'"fast"}')).startswith(b"HTTP/1.1 200")
    assert await asyncio.wait_for(reader.read(), 2.0) == b"", "idle: closed after 0.4 s"
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 2.0)
    assert answer.startswith(b"HTTP/1.1 413 Payload Too Large")
    assert b"Connection: close" in answer
    writer.close()


async def test_http_1_0_is_answered_and_closed(served: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
    answer = await asyncio.wait_for(reader.read(), 2.0)
    assert b'"fast"' in answer and b"Connection: close" in answer
    writer.close()
