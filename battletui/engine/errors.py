"""Errors the engine raises about the processes it runs."""

from __future__ import annotations


class SessionStartError(RuntimeError):
    """The session could not start: a child process (lab, gateway, load worker) did not, a
    port is taken, the target does not answer, or the session's folder cannot be written.
    One line, exit code 3."""
