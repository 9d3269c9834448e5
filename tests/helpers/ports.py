"""Ports for tests that must name one (``--base-port``): free now, and each xdist worker
takes its own range, below the kernel's ephemeral ports, so two workers never pick the same
port and no outgoing connection takes one between the probe and its use."""

from __future__ import annotations

import os
import random
import socket

LOW, HIGH = 20_000, 32_000
"""Below Linux's ephemeral range (32768-60999): a port here is only ever taken by a bind."""


def _worker_range() -> tuple[int, int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    width = (HIGH - LOW) // max(count, 1)
    return LOW + index * width, LOW + (index + 1) * width


def free_base_port(count: int = 2) -> int:
    """A port N with N .. N+count-1 all free right now (bound and released)."""
    low, high = _worker_range()
    for _ in range(200):
        base = random.randint(low, high - count)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
        return base
    raise RuntimeError("no free port range")
