"""The viewer's side of a session is ``battletui.control.link.SessionLink``; re-exported here
for the engine's readers. No viewer runs a session in its own process: the measuring loop is
alone (see ``battletui.control.engine_link`` for the viewer that starts an engine)."""

from battletui.control.link import SessionLink

__all__ = ["SessionLink"]
