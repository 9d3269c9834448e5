"""Allow ``python -m battletui``."""

from battletui.entry import run

run()
