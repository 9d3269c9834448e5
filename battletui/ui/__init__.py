"""The Textual live screen. The only package that imports Textual."""

from battletui.ui.app import BattleApp

__all__ = ["BattleApp"]
