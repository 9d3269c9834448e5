"""``battletui report`` on a damaged journal: it rebuilds what it can and names the first bad
line — never a traceback."""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from battletui.commands.report import report_session

GOLDEN = Path(__file__).parent / "data" / "golden" / "journal.jsonl"


def damaged_copy(tmp_path: Path, damage: dict[int, bytes]) -> Path:
    """The golden journal with line ``n`` (1-based) replaced by ``damage[n]``."""
    lines = GOLDEN.read_bytes().split(b"\n")
    for number, text in damage.items():
        lines[number - 1] = text
    folder = tmp_path / "session"
    folder.mkdir(exist_ok=True)
    (folder / "journal.jsonl").write_bytes(b"\n".join(lines))
    return folder


def interval_line() -> int:
    lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if '"type":"interval"' in line)


@pytest.mark.parametrize(
    ("replacement", "why"),
    [
        (b"\xff\xfe not text", "not UTF-8"),
        (b'{"type":"interval","index":', "not a whole JSON line"),
        (b'{"type":"interval","index":"x","requests":1,"ok":1}', "interval: index is str"),
        (b"[1, 2, 3]", "not a journal entry"),
    ],
)
def test_a_damaged_line_is_named_and_the_rest_rebuilt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], replacement: bytes, why: str
) -> None:
    line = interval_line()
    folder = damaged_copy(tmp_path, {line: replacement})
    out = io.StringIO()
    code = report_session(folder, out=out)
    assert code in (0, 1), out.getvalue()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"battletui: {folder / 'journal.jsonl'}:{line}: {why}"
        + err[0].split(why, 1)[1]  # "; skipped, rebuilt from the rest"
    ]
    assert err[0].endswith("skipped, rebuilt from the rest")
    result = json.loads((folder / "result.json").read_text())
    assert result["http"]["requests"] > 0  # every other second still counts


def test_a_histogram_that_does_not_decode_is_a_damaged_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = interval_line()
    entry = json.loads(GOLDEN.read_text(encoding="utf-8").splitlines()[line - 1])
    entry["corrected"] = "AAAA-not-base64!"
    folder = damaged_copy(tmp_path, {line: json.dumps(entry).encode()})
    assert report_session(folder, out=io.StringIO()) in (0, 1)
    assert f":{line}: interval: a histogram does not decode" in capsys.readouterr().err


@settings(max_examples=25, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=10_000), st.binary(max_size=40))
def test_any_damage_anywhere_never_raises(
    tmp_path_factory: pytest.TempPathFactory, seed: int, noise: bytes
) -> None:
    lines = GOLDEN.read_bytes().split(b"\n")
    rng = random.Random(seed)
    damage = {}
    for _ in range(rng.randint(1, 4)):
        number = rng.randint(1, len(lines))
        original = lines[number - 1]
        cut = rng.randint(0, max(0, len(original)))
        damage[number] = rng.choice([original[:cut] + noise, noise, original.replace(b"1", b'"')])
    folder = damaged_copy(tmp_path_factory.mktemp("fuzz"), damage)
    code = report_session(folder, out=io.StringIO())  # never raises
    assert code in (0, 1, 2, 4)
    if code != 2:
        assert (folder / "report.md").is_file()
    shutil.rmtree(folder)
