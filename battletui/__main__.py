"""Allow ``python -m battletui``."""

from battletui.cli import main

raise SystemExit(main())
