"""A minimal battletui child process for the plumbing tests: listens, reports ready, stops."""

from __future__ import annotations

import asyncio
import os

from battletui.processes import ChildContext, child_main


async def run(context: ChildContext) -> int:
    if context.config.get("fail"):
        context.fail(str(context.config["fail"]))
        return 3
    if context.config.get("silent"):
        await context.stop.wait()
        return 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = type(asyncio.get_running_loop()).__module__
    context.ready({"port": port, "pid": os.getpid(), "loop": loop})
    await context.stop.wait()
    server.close()
    await server.wait_closed()
    return 0


if __name__ == "__main__":
    child_main(run)
