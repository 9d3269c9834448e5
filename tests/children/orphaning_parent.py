"""A parent that starts a child, prints the child's pid and port, then waits to be killed."""

from __future__ import annotations

import asyncio
import json
import sys

from battletui.processes import ChildProcess


async def main() -> None:
    module = sys.argv[1]
    config = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    child = await ChildProcess.spawn("child", module, config)
    print(json.dumps({"ready": dict(child.ready), "pid": child.pid}), flush=True)
    await asyncio.sleep(3600)


asyncio.run(main())
