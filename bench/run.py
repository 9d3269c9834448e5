"""battletui's load generator side by side with wrk, Locust and chainbench (issue 10).

    .venv/bin/python bench/run.py                  # 3 interleaved rounds, ~20 minutes
    .venv/bin/python bench/run.py --repeat 1       # one round, ~7 minutes
    .venv/bin/python bench/run.py --soak 20        # + RSS over 20 minutes at 1,000 req/s

Every tool is measured against the same ``battletui lab`` (``bench/scenarios/bench-lab.yaml``:
the reference gateway on the base port, one provider answering at once on the next one),
started once for the whole run, with the same JSON-RPC body (``eth_blockNumber``):

* **capacity** (closed loop, ``--connections`` at once, ``--seconds`` each): battletui with
  ``rate: max``, ``wrk -c``, Locust ``FastHttpUser`` with ``-u`` users and no wait, chainbench
  (Locust underneath) with as many users. Requests per second, p50 and p99 as each tool
  reports them, and CPU per request: the tool's whole process tree (battletui: engine, load
  workers and the idle lab every session has), sampled from /proc over the steady part of
  the run (after ``WARMUP`` s, before the last second), divided by the requests the tool
  counted in that same window (its per-second series; wrk has none and starts in
  milliseconds, so its total over its duration).
* **open model** (battletui, the open-model tool of the four; Debian's wrk is not wrk2):
  the highest rate held with achieved >= 99 % of target and corrected p99 < 10 ms, found by
  stepping the rate up, then one step between the last held and the first missed.
* **the reference gateway**: its own CPU per request during every capacity run through it
  (from /proc), and the latency it adds: p50 through it minus p50 straight to the provider,
  one connection in a closed loop (nothing queued), measured by battletui and by wrk.

Rounds are interleaved (each round runs every tool against both targets, the order of the
tools rotated) and figures are medians with their range. The table is printed and
``bench/results/latest.json`` written (``{"machine", "runs", ...}``). Locust and chainbench
come from PyPI into ``bench/.peers`` (a venv of their own, made on first use); a tool that
cannot run says why and the others go on. Nothing here is asserted: these are measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BATTLETUI = str(BIN / "battletui")
RESULTS = REPO / "bench" / "results"
PEERS = REPO / "bench" / ".peers"
LAB_SCENARIO = REPO / "bench" / "scenarios" / "bench-lab.yaml"
BODY = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'
WARMUP = 2.0
"""Seconds of each run left out of the CPU and rate window (start-up, connections)."""
COOLDOWN = 1.0
HELD_ACHIEVED = 0.99
HELD_P99_MS = 10.0
TICKS = os.sysconf("SC_CLK_TCK")
TOOLS = ("battletui", "wrk", "locust", "chainbench")
_CANNOT: dict[str, str] = {}
"""Tools found unable to run against this lab, and why (not retried in the same bench)."""
TARGETS = ("provider", "gateway")


# -- the machine and its processes ------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as listing:
            return [int(p) for p in listing.read().split()]
    except OSError:
        return []


def tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children_of(current))
    return found


def cpu_seconds(pid: int, *, with_reaped: bool = True) -> float:
    """utime + stime (+ what its reaped children used) of one process, 0 when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    used = int(fields[11]) + int(fields[12])
    if with_reaped:
        used += int(fields[13]) + int(fields[14])
    return used / TICKS


def tree_cpu(pid: int) -> float:
    """CPU of a process tree: every live member, and what each reaped of its children."""
    return sum(cpu_seconds(member) for member in tree(pid))


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class CpuSampler:
    """Samples a process tree's CPU (and given extra pids') every 0.2 s, with the time."""

    def __init__(self, root: int, extra: Sequence[int] = ()) -> None:
        self.root = root
        self.extra = tuple(extra)
        self.samples: list[tuple[float, float, tuple[float, ...]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            extra = tuple(cpu_seconds(pid, with_reaped=False) for pid in self.extra)
            self.samples.append((time.time(), tree_cpu(self.root), extra))
            self._stop.wait(0.2)

    def between(self, start: float, end: float) -> tuple[float, tuple[float, ...]]:
        """CPU used from ``start`` to ``end`` (wall clock), by the tree and by each extra."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return 0.0, tuple(0.0 for _ in self.extra)
        first, last = inside[0], inside[-1]
        span = last[0] - first[0]
        scale = (end - start) / span if span > 0 else 1.0
        extra = tuple((b - a) * scale for a, b in zip(first[2], last[2], strict=True))
        return (last[1] - first[1]) * scale, extra


# -- the shared lab ---------------------------------------------------------------------------


@dataclass
class Lab:
    process: subprocess.Popen[str]
    urls: dict[str, str]
    gateway_pid: int
    provider_pid: int

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_lab(base_port: int, sessions: Path) -> Lab:
    sessions.mkdir(parents=True, exist_ok=True)
    log = sessions / "lab-stderr.log"  # a file, not a pipe nobody reads while it runs
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [BATTLETUI, "lab", str(LAB_SCENARIO), "--base-port", str(base_port),
             "--sessions", str(sessions)],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
    assert process.stdout is not None
    urls: dict[str, str] = {}
    while len(urls) < 2:
        line = process.stdout.readline()
        if not line:
            said = " ".join(log.read_text(encoding="utf-8").split())
            raise SystemExit(f"bench: the lab did not start (exit {process.wait()}): {said}")
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("gateway", "alpha"):
            urls["gateway" if parts[0] == "gateway" else "provider"] = parts[1]
    members = tree(process.pid)[1:]
    pids = {cmdline(pid): pid for pid in members}
    gateway = next(pid for name, pid in pids.items() if "battletui.gateway" in name)
    provider = next(pid for name, pid in pids.items() if "battletui.lab" in name)
    return Lab(process, urls, gateway, provider)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", encoding="utf-8") as line:
            return line.read().replace("\0", " ")
    except OSError:
        return ""


# -- one run ----------------------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    target: str
    mode: str
    rps: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_us_per_req: float | None = None
    gateway_cpu_us_per_req: float | None = None
    rate: float | None = None
    """Open model: the rate asked for."""
    achieved: float | None = None
    skipped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def timed(
    command: Sequence[str],
    seconds: float,
    lab: Lab,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    grace: float = 120.0,
) -> tuple[subprocess.CompletedProcess[str], CpuSampler, float]:
    """Run ``command`` (ended after ``seconds + grace``); its CPU sampled all along (and the
    gateway's), its start time."""
    started = time.time()
    process = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env, cwd=cwd,
    )  # fmt: skip
    with CpuSampler(process.pid, (lab.gateway_pid,)) as sampler:
        try:
            out, _ = process.communicate(timeout=seconds + grace)
        except subprocess.TimeoutExpired:
            for member in reversed(tree(process.pid)):  # chainbench's master and workers too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(member, signal.SIGKILL)
            out, _ = process.communicate()
            out += f"\n(ended after {seconds + grace:g} s)"
    done = subprocess.CompletedProcess(list(command), process.returncode, out, "")
    return done, sampler, started


def per_request(cpu: float, requests: float) -> float | None:
    return round(cpu / requests * 1e6, 1) if requests > 0 else None


def battletui_scenario(folder: Path, url: str, *, rate: float | None, seconds: float,
                       connections: int) -> Path:  # fmt: skip
    http = f"rate: {'max' if rate is None else int(rate)}, connections: {connections}"
    name = f"bench-{'cap' if rate is None else int(rate)}"
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nseed: 1\nduration: {seconds:g}s\n"
        "providers:\n  - {id: alpha, latency: 0ms}\n"
        f"target:\n  http: {url}\n  observe: {{upstream_header: none}}\n"
        f"workload:\n  http: {{{http}, mix: {{eth_blockNumber: 100}}}}\n",
        encoding="utf-8",
    )
    return path


def run_battletui(lab: Lab, target: str, work: Path, *, rate: float | None, seconds: float,
                  connections: int) -> Run:  # fmt: skip
    scenario = battletui_scenario(work, lab.urls[target], rate=rate, seconds=seconds,
                                  connections=connections)  # fmt: skip
    sessions = work / "sessions"
    before = set(sessions.glob("*")) if sessions.exists() else set()
    done, sampler, _ = timed([BATTLETUI, "replay", str(scenario), "--sessions", str(sessions)],
                             seconds, lab)  # fmt: skip
    mode = "capacity" if rate is None else "open"
    created = sorted(set(sessions.glob("*")) - before)
    if not created or not (created[-1] / "result.json").is_file():
        return Run("battletui", target, mode, skipped=f"replay failed: {done.stdout[-300:]}")
    folder = created[-1]
    result = json.loads((folder / "result.json").read_text())
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    wall = next(e["wall"] for e in journal if e["type"] == "running")
    per_second = {int(e["index"]): int(e["sent"]) for e in journal if e["type"] == "interval"}
    first, last = int(WARMUP), int(seconds - COOLDOWN)
    window_requests = sum(per_second.get(i, 0) for i in range(first, last))
    cpu, (gateway,) = sampler.between(wall + first, wall + last)
    latency = result["http"]["latency_ms"]["corrected"]
    achieved = result["http"]["achieved_rate"]
    return Run(
        "battletui", target, mode,
        rps=window_requests / (last - first) if rate is None else achieved,
        p50_ms=latency["p50"], p99_ms=latency["p99"],
        cpu_us_per_req=per_request(cpu, window_requests),
        gateway_cpu_us_per_req=per_request(gateway, window_requests) if target == "gateway"
        else None,
        rate=rate, achieved=None if rate is None else achieved / rate,
        extra={"verdict": result["verdict"], "workers": result["http"].get("workers"),
               "inconclusive": result["verdict"] == "inconclusive"},
    )  # fmt: skip


def run_wrk(lab: Lab, target: str, work: Path, *, seconds: float, connections: int) -> Run:
    if shutil.which("wrk") is None:
        return Run("wrk", target, "capacity", skipped="wrk is not installed (apt-get install wrk)")
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{BODY}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n',
        encoding="utf-8",
    )
    done, sampler, started = timed(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script),
         lab.urls[target] + "/"],
        seconds, lab,
    )  # fmt: skip
    out = done.stdout
    requests = total = 0.0
    p50 = p99 = None
    for line in out.splitlines():
        words = line.split()
        if "requests in" in line:
            total = float(words[0])
        elif line.startswith("Requests/sec:"):
            requests = float(words[1])
        elif len(words) == 2 and words[0] in ("50%", "99%"):
            value = _ms(words[1])
            if words[0] == "50%":
                p50 = value
            else:
                p99 = value
    if not total:
        return Run("wrk", target, "capacity", skipped=f"wrk said: {out[-300:]}")
    window = seconds - WARMUP - COOLDOWN
    cpu, (gateway,) = sampler.between(started + WARMUP, started + seconds - COOLDOWN)
    in_window = requests * window
    return Run(
        "wrk", target, "capacity", rps=requests, p50_ms=p50, p99_ms=p99,
        cpu_us_per_req=per_request(cpu, in_window),
        gateway_cpu_us_per_req=per_request(gateway, in_window) if target == "gateway" else None,
    )  # fmt: skip


def _ms(text: str) -> float:
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * scale, 3)
    return float(text)


LOCUSTFILE = f"""
from locust import FastHttpUser, constant, task

BODY = b{BODY!r}


class JsonRpc(FastHttpUser):
    wait_time = constant(0)

    @task
    def block_number(self):
        self.client.post("/", data=BODY, headers={{"Content-Type": "application/json"}})
"""


def peers_bin(name: str) -> Path:
    return PEERS / "bin" / name


def ensure_peers() -> str | None:
    """Locust and chainbench in their own venv; None when ready, else why not."""
    if peers_bin("locust").exists() and peers_bin("chainbench").exists():
        return None
    print("bench: installing locust and chainbench into bench/.peers ...", file=sys.stderr)
    made = subprocess.run([sys.executable, "-m", "venv", str(PEERS)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if made.returncode != 0:
        return f"could not make bench/.peers: {made.stderr.strip()[-200:]}"
    done = subprocess.run(
        [str(peers_bin("pip")), "install", "--quiet", "locust", "chainbench"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return f"pip install locust chainbench failed: {done.stderr.strip()[-200:]}"
    return None


def locust_history(prefix: Path) -> list[tuple[float, int]]:
    """(timestamp, cumulative requests) per second from a ``--csv-full-history`` file."""
    path = prefix.parent / f"{prefix.name}_stats_history.csv"
    rows: list[tuple[float, int]] = []
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8") as data:
        for row in csv.DictReader(data):
            if row.get("Name") == "Aggregated":
                rows.append((float(row["Timestamp"]), int(row["Total Request Count"])))
    return rows


def requests_between(history: list[tuple[float, int]], start: float, end: float) -> float:
    inside = [h for h in history if start <= h[0] <= end]
    if len(inside) < 2:
        return 0.0
    (t0, n0), (t1, n1) = inside[0], inside[-1]
    return (n1 - n0) * (end - start) / (t1 - t0) if t1 > t0 else 0.0


def locust_stats(prefix: Path) -> dict[str, str]:
    path = prefix.parent / f"{prefix.name}_stats.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as data:
        for row in csv.DictReader(data):
            if row.get("Name") == "Aggregated":
                return row
    return {}


def from_locust(tool: str, target: str, lab: Lab, prefix: Path, done: Any, sampler: CpuSampler,
                seconds: float) -> Run:  # fmt: skip
    stats = locust_stats(prefix)
    history = locust_history(prefix)
    if not stats or not history or not int(stats.get("Request Count", "0") or 0):
        words = " ".join(done.stdout.split())[-300:]
        return Run(tool, target, "capacity", skipped=f"{tool} sent nothing: {words}")
    start = history[0][0]
    window = (start + WARMUP, start + seconds - COOLDOWN)
    in_window = requests_between(history, *window)
    cpu, (gateway,) = sampler.between(*window)
    return Run(
        tool, target, "capacity",
        rps=round(in_window / (window[1] - window[0]), 1) if in_window else
        float(stats["Requests/s"]),
        p50_ms=float(stats["50%"]), p99_ms=float(stats["99%"]),
        cpu_us_per_req=per_request(cpu, in_window),
        gateway_cpu_us_per_req=per_request(gateway, in_window) if target == "gateway" else None,
    )  # fmt: skip


def run_locust(lab: Lab, target: str, work: Path, *, seconds: float, connections: int) -> Run:
    why = ensure_peers()
    if why:
        return Run("locust", target, "capacity", skipped=why)
    locustfile = work / "locustfile.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    prefix = work / f"locust-{target}-{time.time_ns()}"
    done, sampler, _ = timed(
        [str(peers_bin("locust")), "-f", str(locustfile), "--headless", "-u", str(connections),
         "-r", str(connections * 10), "-t", f"{seconds:g}s", "-H", lab.urls[target],
         "--csv", str(prefix), "--csv-full-history", "--only-summary", "--loglevel", "WARNING"],
        seconds, lab,
    )  # fmt: skip
    return from_locust("locust", target, lab, prefix, done, sampler, seconds)


def run_chainbench(lab: Lab, target: str, work: Path, *, seconds: float,
                   connections: int) -> Run:  # fmt: skip
    why = ensure_peers() or _CANNOT.get("chainbench")
    if why:
        return Run("chainbench", target, "capacity", skipped=why)
    results = work / f"chainbench-{target}-{time.time_ns()}"
    env = {**os.environ, "PATH": f"{PEERS / 'bin'}:{os.environ.get('PATH', '')}"}
    done, sampler, _ = timed(
        [str(peers_bin("chainbench")), "start", "eth_blockNumber", "--users", str(connections),
         "--workers", "1", "--spawn-rate", str(connections * 10), "--test-time", f"{seconds:g}s",
         "--target", lab.urls[target], "--headless", "--autoquit", "--use-latest-blocks",
         "--size", "XS", "--results-dir", str(results)],
        seconds, lab, env=env, cwd=work, grace=40.0,
    )  # fmt: skip
    prefixes = sorted(results.glob("*/*/report.csv_stats.csv"))
    words = " ".join(done.stdout.split())
    sent = prefixes and int(locust_stats(prefixes[-1].parent / "report.csv").get(
        "Request Count", "0") or 0)  # fmt: skip
    if not sent and "Fetching blocks" in words and "(ended after" in words:
        why = ("chainbench never started its test: it builds its test data from blocks with "
               "transactions, and kept fetching 'latest' from a mock chain whose blocks have "
               "none")  # fmt: skip
        _CANNOT["chainbench"] = why  # the same for every later run: not tried again
        return Run("chainbench", target, "capacity", skipped=why)
    if not prefixes:
        return Run("chainbench", target, "capacity",
                   skipped=f"chainbench did not run: {words[-300:]}")  # fmt: skip
    prefix = prefixes[-1].parent / "report.csv"
    return from_locust("chainbench", target, lab, prefix, done, sampler, seconds)


# -- the whole bench --------------------------------------------------------------------------


def median_range(values: Iterable[float | None]) -> tuple[float | None, list[float]]:
    found = [v for v in values if v is not None]
    if not found:
        return None, []
    return round(statistics.median(found), 3), [round(min(found), 3), round(max(found), 3)]


def summarise(runs: list[Run]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    keys = sorted({(r.tool, r.target, r.mode) for r in runs},
                  key=lambda k: (TARGETS.index(k[1]), k[2], TOOLS.index(k[0])))  # fmt: skip
    for tool, target, mode in keys:
        group = [r for r in runs if (r.tool, r.target, r.mode) == (tool, target, mode)]
        measured = [r for r in group if r.skipped is None]
        row: dict[str, Any] = {"tool": tool, "target": target, "mode": mode,
                               "repeats": len(measured)}  # fmt: skip
        if not measured:
            row["skipped"] = group[0].skipped
            rows.append(row)
            continue
        for name in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req", "gateway_cpu_us_per_req"):
            value, spread = median_range(getattr(r, name) for r in measured)
            if value is not None:
                row[name] = value
                row[f"{name}_range"] = spread
        rows.append(row)
    return rows


def open_search(
    lab: Lab, target: str, work: Path, seconds: float, connections: int,
    start: float, step: float, limit: float,
) -> tuple[float | None, list[Run]]:  # fmt: skip
    """The highest rate held (achieved >= 99 %, corrected p99 < 10 ms), stepping up."""
    tried: list[Run] = []
    held: float | None = None
    rate = start
    missed: float | None = None
    while rate <= limit:
        run = run_battletui(lab, target, work, rate=rate, seconds=seconds, connections=connections)
        tried.append(run)
        print(f"  open {target} {rate:,.0f} req/s: achieved {run.achieved or 0:.2%}, "
              f"p99 {run.p99_ms} ms", file=sys.stderr)  # fmt: skip
        if holds(run):
            held = rate
            rate += step
        else:
            missed = rate
            break
    if held is not None and missed is not None and missed - held > step / 4:
        middle = (held + missed) / 2
        run = run_battletui(lab, target, work, rate=middle, seconds=seconds,
                            connections=connections)  # fmt: skip
        tried.append(run)
        if holds(run):
            held = middle
    return held, tried


def holds(run: Run) -> bool:
    return (
        run.skipped is None
        and (run.achieved or 0) >= HELD_ACHIEVED
        and run.p99_ms is not None
        and run.p99_ms < HELD_P99_MS
    )


def soak(lab: Lab, work: Path, minutes: float, connections: int) -> dict[str, Any]:
    """battletui at 1,000 req/s through the gateway for ``minutes``: RSS of every process."""
    seconds = minutes * 60
    scenario = battletui_scenario(work, lab.urls["gateway"], rate=1000, seconds=seconds,
                                  connections=connections)  # fmt: skip
    process = subprocess.Popen(
        [BATTLETUI, "replay", str(scenario), "--sessions", str(work / "soak")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    samples: dict[str, list[tuple[float, int]]] = {}
    started = time.time()
    while process.poll() is None:
        now = time.time() - started
        members = {f"battletui {cmdline(p).split(' -m ')[-1].strip() or 'replay'} ({p})": p
                   for p in tree(process.pid)}  # fmt: skip
        members[f"lab gateway ({lab.gateway_pid})"] = lab.gateway_pid
        members[f"lab providers ({lab.provider_pid})"] = lab.provider_pid
        for name, pid in members.items():
            rss = rss_kib(pid)
            if rss is not None:
                samples.setdefault(name, []).append((now, rss))
        time.sleep(10)
    report: dict[str, Any] = {"minutes": minutes, "rate": 1000, "processes": {}}
    for name, series in samples.items():
        steady = [rss for at, rss in series if at >= 60]  # the first minute warms up
        if len(steady) < 2:
            continue
        first, last = steady[0], steady[-1]
        report["processes"][name] = {
            "rss_mib_at_1min": round(first / 1024, 1),
            "rss_mib_at_end": round(last / 1024, 1),
            "rss_mib_min": round(min(steady) / 1024, 1),
            "rss_mib_max": round(max(steady) / 1024, 1),
            "change_pct": round(100 * (last - first) / first, 1),
        }
    folders = sorted((work / "soak").glob("*/result.json"))
    if folders:
        result = json.loads(folders[-1].read_text())
        report["achieved_rate"] = result["http"]["achieved_rate"]
        report["p99_ms"] = result["http"]["latency_ms"]["corrected"]["p99"]
        report["verdict"] = result["verdict"]
    return report


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'target':9} {'mode':9} {'tool':11} {'req/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
             f"{'CPU µs/req':>16} {'gateway µs/req':>15}"]  # fmt: skip
    for row in rows:
        if "skipped" in row:
            lines.append(f"{row['target']:9} {row['mode']:9} {row['tool']:11} "
                         f"skipped: {row['skipped'][:90]}")  # fmt: skip
            continue
        rps = row.get("rps")
        low, high = row.get("rps_range", [rps, rps])
        cpu = row.get("cpu_us_per_req")
        gw = row.get("gateway_cpu_us_per_req")
        lines.append(
            f"{row['target']:9} {row['mode']:9} {row['tool']:11} "
            f"{rps:>7,.0f} ({low:,.0f}-{high:,.0f})"[:56].ljust(43)
            + f"{row.get('p50_ms', 0):>8.2f} {row.get('p99_ms', 0):>8.2f} "
            f"{'' if cpu is None else f'{cpu:.0f}':>16} {'' if gw is None else f'{gw:.0f}':>15}"
        )
    return "\n".join(lines)


def ratio(rows: list[dict[str, Any]], tool: str, other: str, target: str) -> float | None:
    def rps(name: str) -> float | None:
        return next((r.get("rps") for r in rows if (r["tool"], r["target"], r["mode"])
                     == (name, target, "capacity")), None)  # fmt: skip

    mine, theirs = rps(tool), rps(other)
    return round(mine / theirs, 2) if mine and theirs else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--base-port", type=int, default=7700)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--no-open", action="store_true", help="skip the open-model search")
    parser.add_argument(
        "--soak",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="also run battletui at 1,000 req/s for MINUTES and report RSS",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    runners: dict[str, Callable[..., Run]] = {
        "battletui": lambda lab, target, work, **kw: run_battletui(lab, target, work, rate=None,
                                                                   **kw),
        "wrk": run_wrk, "locust": run_locust, "chainbench": run_chainbench,
    }  # fmt: skip
    info = machine()
    runs: list[Run] = []
    held: dict[str, list[float | None]] = {t: [] for t in TARGETS}
    overhead: dict[str, list[float]] = {"battletui": [], "wrk": []}
    with tempfile.TemporaryDirectory(prefix="battletui-bench-") as tmp:
        work = Path(tmp)
        lab = start_lab(args.base_port, work / "lab")
        print(f"bench: lab up, gateway {lab.urls['gateway']}, provider {lab.urls['provider']}",
              file=sys.stderr)  # fmt: skip
        try:
            for round_index in range(args.repeat):
                order = tools[round_index % len(tools) :] + tools[: round_index % len(tools)]
                for target in TARGETS:
                    for tool in order:
                        run = runners[tool](lab, target, work, seconds=args.seconds,
                                            connections=args.connections)  # fmt: skip
                        runs.append(run)
                        said = run.skipped or (f"{run.rps:,.0f} req/s, p99 {run.p99_ms} ms, "
                                               f"{run.cpu_us_per_req} µs/req")  # fmt: skip
                        print(f"round {round_index + 1} {target} {tool}: {said}", file=sys.stderr)
                if args.no_open:
                    continue
                for tool in ("battletui", "wrk"):
                    if tool not in tools:
                        continue
                    pair = [
                        runners[tool](lab, target, work, seconds=args.seconds, connections=1).p50_ms
                        for target in TARGETS
                    ]
                    if None not in pair:
                        added = round(pair[1] - pair[0], 3)  # type: ignore[operator]
                        overhead[tool].append(added)
                        print(f"  one connection, p50 through the gateway minus direct "
                              f"({tool}): {added} ms", file=sys.stderr)  # fmt: skip
                for target, (first, step, limit) in (
                    ("provider", (3000, 1000, 20000)),
                    ("gateway", (1500, 500, 10000)),
                ):
                    rate, tried = open_search(lab, target, work, args.seconds, args.connections,
                                              first, step, limit)  # fmt: skip
                    held[target].append(rate)
                    runs.extend(r for r in tried if r.rate == rate)
            soak_report = soak(lab, work, args.soak, args.connections) if args.soak else None
        finally:
            lab.stop()
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = summarise([r for r in runs if r.mode == "capacity"])
    open_rows = []
    for target in TARGETS:
        value, spread = median_range(held[target])
        if value is not None:
            open_runs = [r for r in runs if r.mode == "open" and r.target == target]
            p99, _ = median_range(r.p99_ms for r in open_runs)
            p50, _ = median_range(r.p50_ms for r in open_runs)
            cpu, _ = median_range(r.cpu_us_per_req for r in open_runs)
            open_rows.append({"tool": "battletui", "target": target, "mode": "open",
                              "rps": value, "rps_range": spread, "p50_ms": p50, "p99_ms": p99,
                              "cpu_us_per_req": cpu, "repeats": len(held[target]),
                              "criterion": f"achieved >= {HELD_ACHIEVED:.0%} and corrected "
                                           f"p99 < {HELD_P99_MS:g} ms"})  # fmt: skip
    gateway_cpu, gateway_spread = median_range(
        r.gateway_cpu_us_per_req for r in runs if r.target == "gateway" and r.mode == "capacity"
    )
    added = {tool: dict(zip(("median", "range"), median_range(values), strict=True))
             for tool, values in overhead.items() if values}  # fmt: skip
    report: dict[str, Any] = {
        "machine": info,
        "settings": {"repeat": args.repeat, "seconds": args.seconds,
                     "connections": args.connections, "body": BODY,
                     "window": f"{WARMUP:g} s after the start to {COOLDOWN:g} s before the end"},
        "runs": [*rows, *open_rows],
        "ratios": {
            "battletui/locust capacity, provider": ratio(rows, "battletui", "locust", "provider"),
            "battletui/wrk capacity, provider": ratio(rows, "battletui", "wrk", "provider"),
            "battletui/locust capacity, gateway": ratio(rows, "battletui", "locust", "gateway"),
            "battletui/wrk capacity, gateway": ratio(rows, "battletui", "wrk", "gateway"),
        },
        "gateway": {"cpu_us_per_req": gateway_cpu, "cpu_us_per_req_range": gateway_spread,
                    "added_p50_ms": added,
                    "added_p50_how": "one connection, closed loop: p50 through the gateway "
                                     "minus p50 straight to the provider, per tool"},
        "soak": soak_report,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table([*rows, *open_rows]))
    print()
    for name, value in report["ratios"].items():
        print(f"{name}: {value}")
    print(f"gateway CPU per request (median over its capacity runs): {gateway_cpu} µs "
          f"{gateway_spread}; latency it adds (p50, one connection): "
          + "; ".join(f"{tool} {figures['median']} ms {figures['range']}"
                      for tool, figures in added.items()))  # fmt: skip
    if soak_report:
        for name, figures in soak_report["processes"].items():
            print(f"soak {name}: {figures}")
    print(f"machine: {info['cores']} cores, load {info['load_average_start']} -> "
          f"{info['load_average_end']}; written {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
