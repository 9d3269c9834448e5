"""Joining a running session from outside its engine: wire format, control files, client.

Viewers (the TUI, ``battletui attach``, ``textual serve``) and ``battletui ctl`` use this
package and nothing of the engine; the server half lives in ``battletui.engine.control_server``.
The client (``battletui.control.client``) is imported on its own: it pulls in httpx and
websockets, which the engine process has no use for.
"""

from battletui.control.codec import (
    CodecError,
    action_from_json,
    action_to_json,
    snapshot_from_json,
    snapshot_to_json,
)
from battletui.control.files import (
    NoSession,
    new_token,
    newest_running,
    read_control,
    remove_control_files,
    running_sessions,
    write_control_files,
)
from battletui.control.link import SessionLink
from battletui.control.outcome import ActionOutcome, ActionSource

__all__ = [
    "ActionOutcome",
    "ActionSource",
    "CodecError",
    "NoSession",
    "SessionLink",
    "action_from_json",
    "action_to_json",
    "new_token",
    "newest_running",
    "read_control",
    "remove_control_files",
    "running_sessions",
    "snapshot_from_json",
    "snapshot_to_json",
    "write_control_files",
]
