"""Training progress: a rich bar (loss, lr in its description) in a terminal, plain lines everywhere else.

A plain line carries step, loss, lr, the last dev metric and the elapsed time, at most every ``every`` seconds
and at the last step; each validation prints its own line in both modes, so a ``nohup`` log is a learning curve.
"""
from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape

from bench.core.progress import LogProgress, make_progress


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class TrainReporter:
    def __init__(self, console: Console, label: str, every: float = 10.0) -> None:
        self.console, self.label, self.every = console, label, every
        self.progress = make_progress(console)
        self.plain = isinstance(self.progress, LogProgress)
        self.task = None
        self.last_line = 0.0
        self.dev = "n/a"

    def __enter__(self) -> "TrainReporter":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def say(self, text: str) -> None:
        self.console.print(escape(text), highlight=False, soft_wrap=True)

    def start(self, total: int, done: int) -> None:
        if not self.plain:
            self.task = self.progress.add_task(self.label, total=total, completed=done)

    def step(self, entry: dict, total: int) -> None:
        text = f"loss {entry['loss']:.4f} lr {entry['lr']:.2e} dev nDCG@10 {self.dev}"
        if not self.plain:
            self.progress.update(self.task, completed=entry["step"], description=f"{self.label} ({text})")
            return
        now = time.monotonic()
        if now - self.last_line >= self.every or entry["step"] == total:
            self.last_line = now
            self.say(f"{self.label}: step {entry['step']}/{total} {text} elapsed {_clock(entry['elapsed'])}")

    def validation(self, point: dict, total: int) -> None:
        parts = [f"{k} {v:.4f}" for k, v in point.items() if k.startswith("dev")]
        if "dev_nDCG@10" in point:
            self.dev = f"{point['dev_nDCG@10']:.4f}"
        elif "dev_sample_nDCG@10" in point and self.dev == "n/a":
            self.dev = f"{point['dev_sample_nDCG@10']:.4f} (sample)"
        self.say(f"{self.label}: validation at step {point['step']}/{total}: {', '.join(parts)} "
                 f"({point['seconds']:.0f} s) elapsed {_clock(point['elapsed'])}")

    def finish(self) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None
