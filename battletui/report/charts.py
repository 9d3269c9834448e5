"""Over-time charts: Mermaid for GitHub (the terminals' sparklines are
``battletui.metrics.sparkline``)."""

from __future__ import annotations

from collections.abc import Sequence


def downsample(values: Sequence[float], points: int) -> list[float]:
    """Average consecutive values so at most ``points`` remain."""
    if len(values) <= points:
        return list(values)
    size = len(values) / points
    out = []
    for i in range(points):
        chunk = values[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]
        out.append(sum(chunk) / len(chunk))
    return out


def mermaid_line_chart(
    title: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], y_label: str
) -> str:
    """An ``xychart-beta`` block (GitHub renders Mermaid natively); bars for the first series."""
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{title}"',
        f"    x-axis [{', '.join(x_labels)}]",
        f'    y-axis "{y_label}"',
    ]
    for index, (_, values) in enumerate(series):
        kind = "bar" if index == 0 and len(series) > 1 else "line"
        lines.append(f"    {kind} [{', '.join(f'{v:.1f}' for v in values)}]")
    lines.append("```")
    return "\n".join(lines)
