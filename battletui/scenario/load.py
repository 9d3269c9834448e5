"""Read a scenario file (YAML or TOML) into a checked ``Scenario``.

Every problem, from a missing file to a typo in a timeline entry, comes out as one
``ScenarioError`` that names the file, line and field, never as a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from typing import Literal

from battletui.scenario import _validate
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
        with open(name, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        raise ScenarioError(name, 0, "(file)", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(name, 0, "(file)", "is a directory, not a file") from None
    except OSError as err:
        raise ScenarioError(name, 0, "(file)", f"cannot read: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ScenarioError(name, line, "(file)", "not UTF-8 text") from None
    return loads_scenario(text, path=name, fmt=fmt)


def loads_scenario(text: str, *, path: str, fmt: Format) -> Scenario:
    """Check scenario ``text`` in format ``fmt``; ``path`` is only used in error messages."""
    if fmt not in ("yaml", "toml"):
        raise ValueError(f"unknown scenario format {fmt!r}")
    locate: Callable[[Path, Where], int] = _first_line
    try:
        if fmt == "yaml":
            tree = read_yaml(text, path)
            data, locate = tree.data, tree.line
        else:
            data = _parse_toml(text, path)
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
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        match = _TOML_POSITION.search(message)
        if match is None:
            line = 1
        elif match.group(1) is None:  # "at end of document"
            line = max(1, len(text.splitlines()))
        else:
            line = int(match.group(1))
        problem = message[: match.start()] if match else message
        raise ScenarioError(path, line, "(syntax)", problem) from None
