"""Checks that nothing outlives a session: no process, no listening port."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterable


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def port_listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
        except OSError:
            return False
        return True


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc), for finding what a process started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def wait_all_gone(
    pids: Iterable[int], ports: Iterable[int] = (), *, timeout: float = 10.0
) -> list[str]:
    """Wait (bounded) until every pid has exited and no port listens; what is left, if any."""
    pids, ports = list(pids), list(ports)
    deadline = time.monotonic() + timeout
    while True:
        left = [f"pid {p}" for p in pids if process_alive(p)]
        left += [f"port {p}" for p in ports if port_listening(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
