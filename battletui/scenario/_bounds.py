"""How big a scenario may be, checked before and while it is parsed.

A scenario file comes from anyone (a colleague, a CI artifact, a fuzzer): a YAML alias bomb,
a 50 MB file, 100,000 nested brackets or a FIFO must each be one line and exit 2, in under a
second and bounded memory, never a hang, a MemoryError or a traceback. A real scenario is a
few kilobytes, a few hundred values, and five levels deep.
"""

from __future__ import annotations

from typing import Final

from battletui.scenario.errors import ScenarioError

MAX_SCENARIO_BYTES: Final = 1_048_576
"""1 MiB: a recorded hour of actions is far smaller."""
MAX_DEPTH: Final = 16
"""Nesting levels of mappings and lists."""
MAX_VALUES: Final = 100_000
"""Values in the whole tree, aliases counted every time they are used."""
NESTED_TOO_DEEP: Final = f"nested too deeply (at most {MAX_DEPTH} levels)"
TOO_MANY_VALUES: Final = (
    f"too many values (at most {MAX_VALUES:,}, each use of a YAML alias counted)"
)


def check_tree(data: object, source: str) -> None:
    """``ScenarioError`` when parsed data is deeper or larger than a scenario can be."""
    count = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ScenarioError(source, 1, "(file)", TOO_MANY_VALUES)
        children: list[object] = []
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        if children:
            if depth >= MAX_DEPTH:
                raise ScenarioError(source, 1, "(syntax)", NESTED_TOO_DEEP)
            stack.extend((child, depth + 1) for child in children)
