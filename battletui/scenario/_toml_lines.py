"""Where each key of a TOML document was written, since ``tomllib`` keeps no positions.

Runs only on text ``tomllib`` has already accepted, so it skims rather than parses: it follows
table headers (``[gateway]``, the n-th ``[[providers]]``), dotted keys, inline tables and arrays,
and steps over strings and comments so brackets inside them do not confuse it. Anything it does
not follow just makes the answer less precise (the nearest enclosing key, else line 1).
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re

from battletui.scenario._validate import Path, Where

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BARE_VALUE = re.compile(r"[^,\]}\r\n#]+")


class TomlLines:
    """Maps a path such as ``("timeline", 2, "kill")`` to the line it starts on."""

    def __init__(self, text: str) -> None:
        skim = _Skim(text)
        with contextlib.suppress(IndexError, ValueError, RecursionError):
            skim.document()  # on a surprise, keep what was found so far
        self.lines = skim.lines

    def line(self, path: Path, where: Where) -> int:
        """The line of ``path`` (key and value share a line in TOML), else of its nearest parent."""
        if where == "parent":
            path = path[:-1]
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


class _Skim:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[Path, int] = {}
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def _line(self) -> int:
        return bisect.bisect_right(self._starts, self.pos)

    def document(self) -> None:
        counts: dict[Path, int] = {}
        table: Path = ()
        while self._skip(newlines=True):
            line = self._line()
            if self.text.startswith("[[", self.pos):
                self.pos += 2
                name = self._key()
                self._expect("]]")
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (*name, index)
            elif self.text[self.pos] == "[":
                self.pos += 1
                table = self._key()
                self._expect("]")
            else:
                self._keyval(table)
                continue
            for end in range(1, len(table)):
                self.lines.setdefault(table[:end], line)
            self.lines[table] = line

    def _keyval(self, table: Path) -> None:
        line = self._line()
        name = self._key()
        for end in range(1, len(name)):
            self.lines.setdefault((*table, *name[:end]), line)
        path = (*table, *name)
        self.lines[path] = line
        self._skip()
        self._expect("=")
        self._value(path)

    def _value(self, path: Path) -> None:
        self._skip()
        char = self.text[self.pos]
        if char in "[{":
            self.pos += 1
            self._items(path, "]" if char == "[" else "}")
        elif self.text.startswith(('"""', "'''"), self.pos):
            self._multiline_string()
        elif char == '"':
            self._basic_string()
        elif char == "'":
            self.pos = self.text.index("'", self.pos + 1) + 1
        else:
            match = _BARE_VALUE.match(self.text, self.pos)
            if match is None:
                raise ValueError("no value")
            self.pos = match.end()

    def _items(self, path: Path, close: str) -> None:
        """Array elements (recorded by index) or inline-table keys, up to ``close``."""
        index = 0
        while self._skip(newlines=True):
            char = self.text[self.pos]
            if char == close:
                self.pos += 1
                return
            if char == ",":
                self.pos += 1
            elif close == "}":
                self._keyval(path)
            else:
                self.lines[(*path, index)] = self._line()
                self._value((*path, index))
                index += 1
        raise ValueError("unclosed")

    def _key(self) -> Path:
        parts: list[str] = []
        while True:
            self._skip()
            start = self.pos
            if self.text[start] == '"':
                self._basic_string()
                parts.append(_unescape(self.text[start + 1 : self.pos - 1]))
            elif self.text[start] == "'":
                self.pos = self.text.index("'", start + 1) + 1
                parts.append(self.text[start + 1 : self.pos - 1])
            else:
                match = _BARE_KEY.match(self.text, start)
                if match is None:
                    raise ValueError("no key")
                parts.append(match.group())
                self.pos = match.end()
            self._skip()
            if not self.text.startswith(".", self.pos):
                return tuple(parts)
            self.pos += 1

    def _basic_string(self) -> None:
        pos = self.pos + 1
        while self.text[pos] != '"':
            pos += 2 if self.text[pos] == "\\" else 1
        self.pos = pos + 1

    def _multiline_string(self) -> None:
        quote = self.text[self.pos]
        pos = self.pos + 3
        while not self.text.startswith(quote * 3, pos):
            pos += 2 if quote == '"' and self.text[pos] == "\\" else 1
            if pos >= len(self.text):
                raise ValueError("unclosed string")
        end = pos + 3
        while end < pos + 5 and self.text.startswith(quote, end):  # up to two quotes of content
            end += 1
        self.pos = end

    def _skip(self, newlines: bool = False) -> bool:
        """Step over blanks and comments (and line ends if asked); False at the end of text."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return True
        return False

    def _expect(self, token: str) -> None:
        if not self.text.startswith(token, self.pos):
            raise ValueError(f"expected {token!r}")
        self.pos += len(token)


def _unescape(raw: str) -> str:
    try:
        value = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return value if isinstance(value, str) else raw
