"""The one error a scenario file can raise, shaped for editors and terminals."""

from __future__ import annotations


class ScenarioError(Exception):
    """A scenario file problem, printed as ``path:line: field: message`` on one line.

    That shape is what editors and CI log parsers jump from, so the message never spans lines.
    ``field`` is a dotted path such as ``timeline[2].kill``, or ``(syntax)`` / ``(file)`` when
    the problem is with the file itself rather than one setting.
    """

    def __init__(self, path: str, line: int, field: str, message: str) -> None:
        self.path = path
        self.line = line
        self.field = _printable(field)  # a key may be any text, a newline included
        self.message = " ".join(message.splitlines())
        super().__init__(path, line, field, message)

    def __str__(self) -> str:
        if self.line == 0 and self.field == "(file)":
            return f"{self.path}: {self.message}"  # the file as a whole: no line to point at
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


def _printable(text: str) -> str:
    """``text`` with every character a terminal would not show as itself escaped."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
