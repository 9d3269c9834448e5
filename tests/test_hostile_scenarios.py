"""Scenario files from a hostile or unlucky user: one line naming file, line and field, exit 2,
bounded memory and time — never a hang, a MemoryError or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from battletui.scenario import ScenarioError, load_scenario

HEAD = "name: t\nduration: 10s\nproviders: [{id: alpha}]\n"


def alias_bomb(levels: int) -> str:
    """Each level a list of ``levels`` aliases of the one before: levels**levels values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * levels) + "]")
    return HEAD + "\n".join(lines) + "\n"


CASES = [
    ("bomb9.yaml", alias_bomb(9), "bomb9.yaml:4: ", "too many values (at most 100,000"),
    ("bomb10.yaml", alias_bomb(10), "bomb10.yaml:4: ", "too many values"),
    # (caught by the parser's own recursion, or by the depth check, as the stack allows)
    ("deep.yaml", HEAD + "x: " + "[" * 500 + "]" * 500 + "\n", "deep.yaml:", "nested too deeply"),
    (
        "deep.toml",
        'name = "t"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n",
        "deep.toml:1: (syntax): ",
        "nested too deeply (at most 16 levels)",
    ),
    ("int.yaml", HEAD.replace("10s", "1" + "0" * 5000), "int.yaml:2: duration: ", "too long"),
    (
        "int.toml",
        'name = "t"\nduration = 1' + "0" * 5000 + '\nproviders = [{id = "alpha"}]\n',
        "int.toml:1: (syntax): ",
        "a number too long",
    ),
    ("seed.yaml", HEAD + "seed: " + "9" * 40 + "\n", "seed.yaml:4: seed: ", "out of range"),
    ("d400.yaml", HEAD.replace("10s", "1" + "0" * 400), "d400.yaml:2: duration: ", "at most 24h"),
    ("long.yaml", HEAD.replace("10s", "99999999999h"), "long.yaml:2: duration: ", "at most 24h"),
    ("thrice.yaml", HEAD.replace("10s", "1h1h1h"), "thrice.yaml:2: duration: ", "each unit once"),
    ("tiny.yaml", HEAD.replace("10s", "1us"), "tiny.yaml:2: duration: ", "at least 1s"),
    (
        "block.yaml",
        HEAD + "chain: {block_time: 1us}\n",
        "block.yaml:4: chain.block_time: ",
        "at least 100ms a block",
    ),
    (
        "wsslo.yaml",
        HEAD + "slo: {ws_gaps: 0}\n",
        "wsslo.yaml:4: slo.ws_gaps: ",
        "judges WebSocket subscribers, and there are none",
    ),
    (
        "rate.yaml",
        HEAD + "workload: {http: {rate: 1e9}}\n",
        "rate.yaml:4: workload.http.rate: ",
        "must be between 0 and 200000",  # 1e9 is read as the number it is, not as text
    ),
    ("name.yaml", HEAD.replace("name: t", "name: " + "n" * 300), "name.yaml:1: name: ", "100"),
    ("slash.yaml", HEAD.replace("name: t", "name: a/../b"), "slash.yaml:1: name: ", "slashes"),
    # found by the fuzzer: a key that is a newline once made the error two lines
    ("newline-key.toml", '"\\n" = 1\n', "newline-key.toml:1: \\n: ", "unknown key"),
]


@pytest.mark.parametrize(("name", "text", "prefix", "says"), CASES, ids=[c[0] for c in CASES])
def test_hostile_text_is_one_line_naming_where(
    tmp_path: Path, name: str, text: str, prefix: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    line = str(caught.value)
    assert line.startswith(str(tmp_path / prefix)), line
    assert says in line and "\n" not in line, line


def test_files_that_are_not_scenario_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "# " + "x" * 2_000_000 + "\n", encoding="utf-8")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block until someone writes
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")  # reading it would never end
    says = {
        big: f"too large ({big.stat().st_size:,} bytes; a scenario is at most 1,048,576)",
        fifo: "not a regular file (a FIFO, device or socket)",
        zero: "not a regular file (a FIFO, device or socket)",
    }
    for path, message in says.items():
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert str(caught.value) == f"{path}: {message}"


def test_the_command_line_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(alias_bomb(10), encoding="utf-8")
    os.mkfifo(tmp_path / "fifo.yaml")
    for command in ("validate", "replay"):
        for name in ("bomb.yaml", "fifo.yaml"):
            done = subprocess.run(
                [sys.executable, "-m", "battletui", command, name],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert done.returncode == 2, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            assert "Traceback" not in done.stderr
