"""Reading a session journal (JSON lines), tolerant of damage.

A journal is what is left when everything else is lost (a SIGKILL, a full disk, a power cut),
so it is read line by line and every line is checked before it is believed: a torn last line,
bytes that are not UTF-8, a line that is not JSON or an entry whose fields have the wrong
types are skipped, and the first of them is named, so ``battletui report`` rebuilds what it
can and says where the damage starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NUMBER = (int, float)
_FIELDS: Mapping[str, Mapping[str, tuple[type, ...]]] = {
    "start": {"scenario": (str,)},
    "interval": {
        "index": (int,),
        "requests": (int,),
        "ok": (int,),
        "corrected": (str,),
        "uncorrected": (str,),
    },
    "action": {"offset": _NUMBER, "kind": (str,), "applied": (bool,)},
    "breaker": {"offset": _NUMBER, "provider": (str,), "from": (str,), "to": (str,)},
    "health": {"offset": _NUMBER, "provider": (str,)},
    "ws": {
        "offset": _NUMBER,
        "subscribers": (int,),
        "heads": (int,),
        "gaps": (int,),
        "missing_blocks": (int,),
        "duplicates": (int,),
        "reorgs": (int,),
        "broken_links": (int,),
        "max_stall_ms": _NUMBER,
        "reconnects": (int,),
    },
    "failovers": {"offset": _NUMBER, "count": (int,)},
    "received": {"offset": _NUMBER, "providers": (dict,)},
    "end": {"offset": _NUMBER, "reason": (str,)},
}
"""Fields each entry type must have, with their JSON types (others are read leniently)."""
_MAPPINGS = ("errors", "upstreams", "answers", "params", "away_from")


@dataclass(frozen=True)
class Damage:
    line: int
    why: str


@dataclass
class JournalReading:
    entries: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[Damage] = field(default_factory=list)
    lines: dict[int, int] = field(default_factory=dict)
    """id(entry) -> its line, for damage found later (a histogram that does not decode)."""

    def damage(self, entry: Mapping[str, Any], why: str) -> None:
        self.damaged.append(Damage(self.lines.get(id(entry), 0), why))
        self.damaged.sort(key=lambda d: d.line)

    @property
    def first_damage(self) -> Damage | None:
        return self.damaged[0] if self.damaged else None


def entry_problem(entry: Mapping[str, Any]) -> str | None:
    """Why an entry cannot be believed (wrong or missing fields), or None."""
    kind = entry.get("type")
    if not isinstance(kind, str):
        return "no entry type"
    for name, types in _FIELDS.get(kind, {}).items():
        value = entry.get(name)
        if name not in entry:
            return f"{kind}: {name} is missing"
        if isinstance(value, bool) and bool not in types:
            return f"{kind}: {name} is {value!r}, not a number"
        if not isinstance(value, types):
            return f"{kind}: {name} is {type(value).__name__}, not {types[0].__name__}"
    if "offset" in entry and (
        isinstance(entry["offset"], bool) or not isinstance(entry["offset"], _NUMBER)
    ):
        return f"{kind}: offset is not a number"
    for name in _MAPPINGS:
        if entry.get(name) is not None and not isinstance(entry[name], dict):
            return f"{kind}: {name} is not a mapping"
    return None


def read_journal_checked(path: Path) -> JournalReading:
    """Every believable entry in order, and every line that was not (with why)."""
    reading = JournalReading()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.strip()
            if not raw:
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                reading.damaged.append(Damage(number, "not UTF-8"))
                continue
            try:
                entry = json.loads(text)
            except ValueError:
                reading.damaged.append(Damage(number, "not a whole JSON line"))
                continue
            if not isinstance(entry, dict):
                reading.damaged.append(Damage(number, "not a journal entry"))
                continue
            problem = entry_problem(entry)
            if problem is not None:
                reading.damaged.append(Damage(number, problem))
                continue
            reading.entries.append(entry)
            reading.lines[id(entry)] = number
    return reading


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Entries in order; damaged lines (a torn last one after a crash) are skipped."""
    yield from read_journal_checked(path).entries
