"""Who is up, what their breaker says, how much traffic each carries, what is wrong with it.

Traffic is shown twice: the share of answers the gateway said came from each provider
(``X-Upstream``, with a bar) and ``recv``, the share each provider itself counted receiving
(the truth for any gateway, with or without that header). A gateway that names no upstream
in its answers (``Snapshot.share_source == "received"``) gets its bar from ``recv`` and a
``served`` of ``—``. A breaker nothing observes reads ``n/a``, dim: never a guess.

Laid out as fixed-width lines (not a table) so that a provider's active faults get a whole
line of their own under it and are never cut to fit a column.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from battletui.metrics import ProviderView, Snapshot
from battletui.ui.format import BREAKER_STYLE, HEALTH_STYLE, ms, share_bar

COMPACT_BELOW = 80
"""Panel width under which ``served`` is left out and the traffic bar is shorter."""
NOT_OBSERVED = "n/a"
"""The breaker state of a gateway nothing observes."""


def _cell(text: Text, value: str, width: int, style: str = "", *, right: bool = False) -> None:
    shown = value[:width]
    text.append(shown.rjust(width) if right else shown.ljust(width), style=style)
    text.append(" ")


def _notes(view: ProviderView) -> list[tuple[str, str]]:
    """(text, style) for what is going on with this provider beyond its state."""
    notes: list[tuple[str, str]] = []
    if view.serving_ws:
        notes.append(("⇄ carries the WebSocket subscription", "cyan"))
    notes.extend((fault, "yellow") for fault in view.faults)
    if view.rate_limited_for:
        notes.append((f"gateway waits {view.rate_limited_for:.1f}s (429)", "yellow"))
    if view.lag:
        notes.append((f"{view.lag} block{'s' if view.lag != 1 else ''} behind", "yellow"))
    return notes


class ProvidersPanel(Static):
    DEFAULT_CSS = """
    ProvidersPanel { border: round $primary; border-title-color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "providers"

    def show(self, snap: Snapshot, selected: int) -> None:
        if snap.gateway_url:
            who = "target" if snap.gateway_external else "gateway"
            self.border_title = f"providers · behind the {who} {snap.gateway_url}"
        compact = (self.size.width or 80) < COMPACT_BELOW
        by_header = snap.share_source == "header"
        lines: list[Text] = [self._header(compact, by_header)]
        for view in snap.providers:
            lines.append(self._row(view, selected, compact, by_header))
            notes = _notes(view)
            if notes:
                note = Text("     ↳ ", style="dim", no_wrap=True, overflow="ellipsis")
                for index, (words, style) in enumerate(notes):
                    if index:
                        note.append(" · ", style="dim")
                    note.append(words, style=style)
                lines.append(note)
        if not snap.providers:
            lines.append(Text("waiting for the lab…", style="dim"))
            self.border_subtitle = ""
        else:
            chosen = snap.providers[min(selected, len(snap.providers)) - 1]
            self.border_subtitle = f"{chosen.key} {chosen.id} {chosen.url}"
        self.update(Group(*lines))

    def _header(self, compact: bool, by_header: bool) -> Text:
        header = Text(style="dim", no_wrap=True)
        _cell(header, "", 3)
        _cell(header, "provider", 8)
        _cell(header, "state", 9)
        _cell(header, "breaker", 13)
        if compact:
            _cell(header, "traffic" if by_header else "recv'd", 11)
        else:
            _cell(header, "traffic (2 s)" if by_header else "traffic (recv)", 16)
        _cell(header, "recv", 5, right=True)
        if not compact:
            _cell(header, "served", 7, right=True)
        _cell(header, "failed", 6, right=True)
        _cell(header, "probe", 7, right=True)
        return header

    def _row(self, view: ProviderView, selected: int, compact: bool, by_header: bool) -> Text:
        row = Text(no_wrap=True, overflow="ellipsis")
        _cell(row, f"{'▶' if view.key == selected else ' '}{view.key}", 3, "bold")
        _cell(row, view.id, 8, "bold")
        _cell(row, f"● {view.health}", 9, HEALTH_STYLE.get(view.health, ""))
        breaker = view.breaker
        if view.breaker_left is not None:
            breaker += f" {view.breaker_left:.0f}s"
        style = "dim" if view.breaker == NOT_OBSERVED else BREAKER_STYLE.get(view.breaker, "")
        _cell(row, breaker, 13, style)
        share = view.share if by_header else view.received_share
        bar = share_bar(share, 5 if compact else 10)
        _cell(row, f"{bar} {share * 100:3.0f}%", 11 if compact else 16)
        _cell(row, f"{view.received_share * 100:3.0f}%", 5, "cyan", right=True)
        if not compact:
            if by_header:
                _cell(row, f"{view.served:,}", 7, right=True)
            else:
                _cell(row, "—", 7, "dim", right=True)
        failed = f"{view.failovers_from:,}" if view.failovers_from else "—"
        _cell(row, failed, 6, "yellow" if view.failovers_from else "dim", right=True)
        probe = "—" if view.probe_ms is None else f"{ms(view.probe_ms)}ms"
        _cell(row, probe, 7, right=True)
        if view.key == selected:
            row.stylize("on #2a2f45")
        return row
