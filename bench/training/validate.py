"""Refuse impossible training options in one line, before a model is loaded or a folder written."""
from __future__ import annotations

from bench.core.errors import BenchError

MINIMUM = {"batch_size": 2, "epochs": 1, "max_length": 8, "max_steps": 1, "eval_every": 0, "save_every": 1,
           "threads": 1, "negative_depth": 1, "dev_sample": 0, "dev_depth": 1}


def check_train_options(**values) -> None:
    for name, low in MINIMUM.items():
        value = values.get(name)
        if value is not None and value < low:
            raise BenchError(f"--{name.replace('_', '-')} must be >= {low}, not {value}")
    for name in ("lr", "temperature", "head_lr"):
        value = values.get(name)
        if value is not None and not (0 < value < float("inf")):
            raise BenchError(f"--{name} must be a positive number, not {value}")
    for name in ("warmup", "dev_fraction"):
        value = values.get(name)
        if value is not None and not (0 <= value < 1):
            raise BenchError(f"--{name.replace('_', '-')} must be in [0, 1), not {value}")
