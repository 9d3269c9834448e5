"""Issue 8's figures: what the screen costs the tail, how far headless keeps up, how fast a
key takes effect. One command, interleaved runs, medians with ranges:

    .venv/bin/python bench/split.py            # about 9 minutes on 2 cores
    .venv/bin/python bench/split.py --repeat 1 # one of each, about 4 minutes

Prints a table and writes ``bench/results/split.json``. Every figure is read from the
sessions' own ``result.json`` / ``journal.jsonl`` (measured over sockets) or timed here
around real key presses in a real terminal (tmux). Sessions go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BATTLETUI = str(BIN / "battletui")
SCENARIOS = REPO / "bench" / "scenarios"
RESULTS = REPO / "bench" / "results"
TMUX = "battletui-bench"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def session_folders(root: Path) -> set[Path]:
    """Session folders under ``root`` (not the engine's transient log file beside them)."""
    if not root.exists():
        return set()
    return {p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.01)


# -- runs -----------------------------------------------------------------------------------


def headless(scenario: Path, root: Path) -> dict[str, Any]:
    """``battletui replay`` with no terminal; returns the session's result.json."""
    before = session_folders(root)
    subprocess.run(
        [BATTLETUI, "replay", str(scenario), "--sessions", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=600,
    )
    folder = next(iter(sorted(session_folders(root) - before)))
    return dict(json.loads((folder / "result.json").read_text()))


def tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)
    return done.stdout


def pane() -> str:
    return tmux("capture-pane", "-pt", TMUX)


def start_tui(scenario: Path, root: Path, size: tuple[int, int] = (160, 45)) -> None:
    tmux("kill-session", "-t", TMUX)
    command = f"{BATTLETUI} run {scenario} --sessions {root}"
    tmux("new-session", "-d", "-s", TMUX, "-x", str(size[0]), "-y", str(size[1]), command)


def quit_tui() -> None:
    tmux("send-keys", "-t", TMUX, "q")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and TMUX in tmux("list-sessions", "-F", "#S"):
        time.sleep(0.1)
    tmux("kill-session", "-t", TMUX)


def with_tui(scenario: Path, root: Path, duration: float) -> dict[str, Any]:
    """The live TUI in a real terminal for the scenario's whole length; its result.json."""
    root.mkdir(parents=True, exist_ok=True)
    before = session_folders(root)
    start_tui(scenario, root)
    wait_for(lambda: bool(session_folders(root) - before), 30, "the session folder")
    folder = next(iter(session_folders(root) - before))
    wait_for(lambda: (folder / "result.json").exists(), duration + 60, "the session to end")
    quit_tui()
    return dict(json.loads((folder / "result.json").read_text()))


def key_latency(root: Path, rounds: int) -> dict[str, list[float]]:
    """Kill alpha with ``k`` and restore it with ``r``, ``rounds`` times, in a real terminal.

    verified_ms: from the engine receiving the key's action to the port verified refusing
    (the journal's ``verify_ms``); screen_ms: from ``tmux send-keys`` to the pane showing
    alpha DOWN.
    """
    scenario = SCENARIOS / "demo-60s.yaml"
    root.mkdir(parents=True, exist_ok=True)
    before = session_folders(root)
    start_tui(scenario, root)
    wait_for(lambda: alpha_state() == "UP", 30, "alpha UP on screen")
    folder = next(iter(session_folders(root) - before))
    screen: list[float] = []
    for _ in range(rounds):
        tmux("send-keys", "-t", TMUX, "1")
        sent = time.monotonic()
        tmux("send-keys", "-t", TMUX, "k")
        wait_for(lambda: alpha_state() == "DOWN", 5, "alpha DOWN on screen")
        screen.append((time.monotonic() - sent) * 1000)
        time.sleep(0.5)
        tmux("send-keys", "-t", TMUX, "r")
        wait_for(lambda: alpha_state() == "UP", 10, "alpha UP again")
        time.sleep(1.0)
    quit_tui()
    verified = []
    for line in (folder / "journal.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "action" and entry.get("kind") == "kill":
            verified.append(float(entry.get("verify_ms") or "nan"))
    return {"screen_ms": screen, "verified_ms": verified}


def alpha_state() -> str | None:
    for line in pane().splitlines():
        words = line.replace("│", " ").split()
        if "alpha" in words:
            for state in ("DOWN", "UP", "SLOW", "HUNG"):
                if state in words:
                    return state
    return None


# -- figures --------------------------------------------------------------------------------


def p99(result: dict[str, Any]) -> float:
    return float(result["http"]["latency_ms"]["corrected"]["p99"])


def achieved(result: dict[str, Any]) -> float:
    http = result["http"]
    return float(http["achieved_rate"]) / float(http["target_rate"])


def left_up(result: dict[str, Any]) -> int:
    """Health changes away from UP (after the first UNKNOWN -> UP) over all providers."""
    count = 0
    for provider in result["providers"].values():
        for change in provider.get("health", []):
            if change["from"] != "UNKNOWN" and change["to"] != "UP":
                count += 1
    return count


def spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} ({min(values):.2f} to {max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (default 3)")
    parser.add_argument("--keys", type=int, default=5, help="kill/restore rounds (default 5)")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("bench/split.py needs tmux (apt-get install tmux)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="battletui-bench-"))
    steady = SCENARIOS / "steady-500.yaml"
    fast = SCENARIOS / "one-fast-1000.yaml"
    runs: list[dict[str, Any]] = []
    loads: list[str] = [load_average()]
    for round_ in range(args.repeat):  # interleaved: headless, TUI, 1000 req/s
        for kind, run in (
            ("headless-500", lambda: headless(steady, work / "headless")),
            ("tui-500", lambda: with_tui(steady, work / "tui", 30)),
            ("headless-1000", lambda: headless(fast, work / "fast")),
        ):
            result = run()
            runs.append({"kind": kind, "round": round_, "result": result})
            print(
                f"{kind:14} round {round_ + 1}: p99 {p99(result):7.2f} ms · "
                f"achieved {achieved(result) * 100:6.2f}% · load {load_average()}",
                flush=True,
            )
            loads.append(load_average())
    demo = with_tui(SCENARIOS / "demo-60s.yaml", work / "demo", 60)
    keys = key_latency(work / "keys", args.keys)
    loads.append(load_average())

    def of(kind: str, figure: Callable[[dict[str, Any]], float]) -> list[float]:
        return [figure(r["result"]) for r in runs if r["kind"] == kind]

    head_p99, tui_p99 = of("headless-500", p99), of("tui-500", p99)
    ratios = [t / h for h, t in zip(head_p99, tui_p99, strict=True) if h > 0]
    fast_p99, fast_achieved = of("headless-1000", p99), of("headless-1000", achieved)
    rows = [
        ("corrected p99, headless, 500 req/s (ms)", spread(head_p99), ""),
        ("corrected p99, TUI attached, 500 req/s (ms)", spread(tui_p99), ""),
        ("TUI / headless p99 (same round)", spread(ratios), "≤ 1.10"),
        ("headless 1,000 req/s: achieved (%)", spread([a * 100 for a in fast_achieved]), "≥ 99"),
        ("headless 1,000 req/s: corrected p99 (ms)", spread(fast_p99), "< 10"),
        ("60 s demo with TUI: times a provider left UP", str(left_up(demo)), "0"),
        ("kill key → port verified refusing (ms)", spread(keys["verified_ms"]), "< 50"),
        ("kill key → screen shows DOWN (ms)", spread(keys["screen_ms"]), "< 300"),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'figure':{width}}  {'median (min to max)':24}  target")
    for name, value, target in rows:
        print(f"{name:{width}}  {value:24}  {target}")
    print(f"\nload averages during the run: {' | '.join(loads)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load": loads,
        },
        "rows": [{"figure": n, "value": v, "target": t} for n, v, t in rows],
        "raw": {
            "headless_500_p99_ms": head_p99,
            "tui_500_p99_ms": tui_p99,
            "fast_1000_p99_ms": fast_p99,
            "fast_1000_achieved": fast_achieved,
            "demo_left_up": left_up(demo),
            "keys": keys,
        },
    }
    (RESULTS / "split.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"written: {RESULTS / 'split.json'} · sessions in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
