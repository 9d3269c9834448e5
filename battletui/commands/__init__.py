"""One module per ``battletui`` command, and what they share (the parser, the inputs,
replay progress).

Nothing else in battletui imports this package: only the entry point (``battletui.entry``)
starts a command. Only ``run`` (also ``replay --ui``) and ``attach`` open the screen; every
other command's module never imports Textual, so CI and scripts need no terminal.
"""
