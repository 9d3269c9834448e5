"""Errors the engine raises about the processes it runs."""

from __future__ import annotations


class LabError(RuntimeError):
    """The lab could not start (a port is taken, a server failed): exit code 3."""
