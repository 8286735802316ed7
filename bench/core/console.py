"""Consoles that word-wrap for a person at a terminal and never wrap in a file, a pipe or a CI log.

Rich wraps every printed line at the console width, and without a terminal that width is 80: a ``nohup`` log
of ``bench run`` then splits ``results: runs/scifact/+distractors-...-501da1`` / ``5c`` mid-token, so the path
cannot be copied and a grep for it fails. Off a terminal, lines are written whole (rich's soft wrap) and tables
get a fixed width wide enough for the leaderboard. Whether the output is a terminal is asked at every print,
not when the console is made, so one module-level console serves a terminal and a redirected run alike.
"""
from __future__ import annotations

import sys

from rich.console import Console

PLAIN_WIDTH = 200  # tables off a terminal: wide enough for the leaderboard (rich would use 80)


class AdaptiveConsole(Console):
    """A rich ``Console`` whose ``soft_wrap`` (no wrapping, no cropping) is on exactly when it writes to no terminal."""

    @property
    def soft_wrap(self) -> bool:
        return not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        """Ignored: the terminal decides (rich's ``__init__`` sets it)."""


def make_console(*, stderr: bool = False) -> AdaptiveConsole:
    """The console for stdout or stderr: terminal width in a terminal, ``PLAIN_WIDTH`` and unwrapped lines elsewhere."""
    stream = sys.stderr if stderr else sys.stdout
    return AdaptiveConsole(stderr=stderr, width=None if stream.isatty() else PLAIN_WIDTH)
