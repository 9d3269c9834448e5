"""Read a scenario file (YAML or TOML) into a checked ``Scenario``.

Every problem, from a missing file to a typo in a timeline entry, comes out as one
``ScenarioError`` that names the file, line and field, never as a traceback.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable
from typing import Literal

from battletui.scenario import _validate
from battletui.scenario._bounds import MAX_SCENARIO_BYTES, NESTED_TOO_DEEP, check_tree
from battletui.scenario._toml_lines import TomlLines
from battletui.scenario._validate import Invalid, Path, Where
from battletui.scenario._yaml_nodes import read_yaml
from battletui.scenario.errors import ScenarioError
from battletui.scenario.model import Scenario

Format = Literal["yaml", "toml"]

FORMATS: dict[str, Format] = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}
"""File extension -> format; the extension is the only way a file says what it is."""

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$")


def format_of(path: str | os.PathLike[str]) -> Format:
    """The format a file name asks for, or ``ScenarioError`` for any other extension."""
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    if extension not in FORMATS:
        raise ScenarioError(
            name,
            0,
            "(file)",
            f"unknown file type {extension or '(none)'!r} (expected .yaml, .yml or .toml)",
        )
    return FORMATS[extension]


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check the scenario file at ``path``; the format comes from its extension."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise ScenarioError(
            name, 0, "(file)", "is a directory, not a scenario file (.yaml, .yml or .toml)"
        )
    fmt = format_of(name)
    try:
        info = os.stat(name)  # follows a symlink: what it points at is what would be read
    except FileNotFoundError:
        raise ScenarioError(name, 0, "(file)", "no such file") from None
    except OSError as err:
        raise ScenarioError(name, 0, "(file)", f"cannot read: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(name, 0, "(file)", "not a regular file (a FIFO, device or socket)")
    if info.st_size > MAX_SCENARIO_BYTES:
        raise ScenarioError(name, 0, "(file)", _too_large(info.st_size))
    try:
        with open(name, "rb") as file:
            raw = file.read(MAX_SCENARIO_BYTES + 1)  # it may have grown since stat
    except FileNotFoundError:
        raise ScenarioError(name, 0, "(file)", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(name, 0, "(file)", "is a directory, not a file") from None
    except OSError as err:
        raise ScenarioError(name, 0, "(file)", f"cannot read: {err.strerror or err}") from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioError(name, 0, "(file)", _too_large(len(raw)))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ScenarioError(name, line, "(file)", "not UTF-8 text") from None
    return loads_scenario(text, path=name, fmt=fmt)


def _too_large(size: int) -> str:
    return f"too large ({size:,} bytes; a scenario is at most {MAX_SCENARIO_BYTES:,})"


def loads_scenario(text: str, *, path: str, fmt: Format) -> Scenario:
    """Check scenario ``text`` in format ``fmt``; ``path`` is only used in error messages."""
    if fmt not in ("yaml", "toml"):
        raise ValueError(f"unknown scenario format {fmt!r}")
    if len(text) > MAX_SCENARIO_BYTES:
        raise ScenarioError(path, 0, "(file)", _too_large(len(text)))
    locate: Callable[[Path, Where], int] = _first_line
    try:
        if fmt == "yaml":
            tree = read_yaml(text, path)
            data, locate = tree.data, tree.line
        else:
            data = _parse_toml(text, path)
            check_tree(data, path)
            locate = TomlLines(text).line
        if data is None or data == {}:
            raise ScenarioError(
                path, 1, "(file)", "empty scenario (it needs at least name, duration and providers)"
            )
        return _validate.scenario(data)
    except Invalid as err:
        line = err.line if err.line is not None else locate(err.path, err.where)
        raise ScenarioError(path, line, _validate.field_name(err.path), err.message) from None


def _first_line(path: Path, where: Where) -> int:
    return 1


def _parse_toml(text: str, path: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ScenarioError(path, 1, "(syntax)", NESTED_TOO_DEEP) from None
    except ValueError as err:
        if not isinstance(err, tomllib.TOMLDecodeError):  # Python's own 4,300-digit limit
            raise ScenarioError(path, 1, "(syntax)", "a number too long") from None
        raise _toml_error(err, text, path) from None


def _toml_error(err: tomllib.TOMLDecodeError, text: str, path: str) -> ScenarioError:
    message = str(err)
    match = _TOML_POSITION.search(message)
    if match is None:
        line = 1
    elif match.group(1) is None:  # "at end of document"
        line = max(1, len(text.splitlines()))
    else:
        line = int(match.group(1))
    problem = message[: match.start()] if match else message
    return ScenarioError(path, line, "(syntax)", problem)
