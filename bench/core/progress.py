"""Progress for long steps: a rich bar in a terminal, plain log lines (rate, ETA) everywhere else.

CI logs and ``nohup`` files get no live display, and a transient rich bar leaves nothing there at all; a
user watching a 100k-document encode in a log still needs to see it move. Both kinds share the small API
the code uses: ``add_task``, ``advance``, ``update``, ``remove_task``, as a context manager.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from bench.core.console import make_console

LOG_EVERY_SECONDS = 10.0


def make_progress(console: Console | None = None):
    console = console or make_console(stderr=True)
    return _RichProgress(console) if console.is_terminal else LogProgress(console)


class _RichProgress(Progress):
    """A rich bar with count, percentage, rate and ETA."""

    def __init__(self, console: Console) -> None:
        super().__init__(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=True,
        )

    def add_task(self, description: str, *args, **kwargs):
        return super().add_task(description, *args, rate="", **kwargs)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        task = self._tasks.get(task_id)
        if task is not None and task.speed:
            self.update(task_id, rate=f"{task.speed:,.1f}/s")


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float = 0.0
    started: float = field(default_factory=time.monotonic)
    logged: float = field(default_factory=time.monotonic)


class LogProgress:
    """One plain line per task every ``LOG_EVERY_SECONDS`` and at its end: done/total, rate, elapsed, ETA."""

    def __init__(self, console: Console, every: float | None = None) -> None:
        self.console, self.every = console, LOG_EVERY_SECONDS if every is None else every
        self.tasks: dict[int, _Task] = {}
        self._next = 0

    def __enter__(self) -> "LogProgress":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **_) -> int:
        self._next += 1
        self.tasks[self._next] = _Task(description, total)
        return self._next

    def advance(self, task_id: int, advance: float = 1) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        task.completed += advance
        now = time.monotonic()
        if now - task.logged >= self.every:
            task.logged = now
            self._log(task, now)

    def update(self, task_id: int, *, completed: float | None = None, description: str | None = None, **_) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            return
        if description is not None:
            task.description = description
        if completed is not None:
            self.advance(task_id, completed - task.completed)

    def remove_task(self, task_id: int) -> None:
        task = self.tasks.pop(task_id, None)
        if task is not None and time.monotonic() - task.started >= self.every:
            self._log(task, time.monotonic(), done=True)

    def _log(self, task: _Task, now: float, done: bool = False) -> None:
        elapsed = now - task.started
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        total = f"/{task.total:,.0f}" if task.total else ""
        eta = ""
        if not done and task.total and rate > 0:
            eta = f", ETA {_clock((task.total - task.completed) / rate)}"
        state = "done" if done else "progress"
        self.console.print(f"{state}: {escape(task.description)} {task.completed:,.0f}{total} at {rate:,.1f}/s, "
                           f"elapsed {_clock(elapsed)}{eta}", highlight=False, soft_wrap=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
