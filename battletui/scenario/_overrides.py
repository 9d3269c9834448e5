"""``--duration`` and ``--rate``: the command line's word on how long and how hard.

A presenter runs the demo for as long as the room needs, a CI job replays a session at a
different rate; both change the file's values without editing it, checked by the file's own
rules (one line naming the option when refused).
"""

from __future__ import annotations

import dataclasses

from battletui.scenario._validate import Invalid, read_rate, read_session_duration
from battletui.scenario.durations import format_duration
from battletui.scenario.model import Scenario


def override_run(scenario: Scenario, duration: str | None, rate: str | None) -> Scenario:
    """The scenario with ``duration`` (``"90s"``, ``"0"`` = until quit) and ``rate``
    (req/s or ``max``) from the command line. ValueError (one line) when refused."""
    if duration is not None:
        try:
            seconds = read_session_duration(duration.strip(), ("duration",))
        except Invalid as err:
            raise ValueError(f"--duration: {err.message}") from None
        late = [entry.at for entry in scenario.timeline if entry.at > seconds]
        if seconds and late:
            raise ValueError(
                f"--duration: the timeline has an action at {format_duration(late[0])}, after "
                f"{format_duration(seconds)}"
            )
        scenario = dataclasses.replace(scenario, duration=seconds)
    if rate is not None:
        http = scenario.workload.http
        if rate.strip() == "max":
            http = dataclasses.replace(http, closed=True)
        else:
            try:
                value = read_rate(_number(rate), ("rate",))
            except Invalid as err:
                raise ValueError(f"--rate: {err.message}") from None
            if value <= 0:
                raise ValueError("--rate: must be more than 0 (or max)")
            http = dataclasses.replace(http, rate=value, closed=False)
        workload = dataclasses.replace(scenario.workload, http=http)
        scenario = dataclasses.replace(scenario, workload=workload)
    return scenario


def _number(text: str) -> object:
    """``"300"`` → 300.0; anything else stays text, for the reader to refuse as written."""
    try:
        return float(text)
    except ValueError:
        return text
