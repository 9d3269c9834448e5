"""Read an exported SVG screen back as lines of text, the way a person reads the terminal."""

from __future__ import annotations

import html
import re
from collections import defaultdict

_TEXT = re.compile(r'<text[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>(.*?)</text>', re.S)


def svg_lines(svg: str) -> list[str]:
    lines: dict[int, list[str]] = defaultdict(list)
    for number, content in _TEXT.findall(svg):
        lines[int(number)].append(html.unescape(re.sub(r"<[^>]+>", "", content)))
    if not lines:
        return []
    return ["".join(lines[i]).replace("\xa0", " ") for i in range(max(lines) + 1)]
