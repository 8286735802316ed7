"""The resumable training state: written atomically beside the output folder, loaded as plain data only."""
from __future__ import annotations

import random
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.core import atomic
from bench.core.errors import BenchError


def state_dir(out: Path) -> Path:
    return Path(out).parent / f".{Path(out).name}.train-state"


def save_state(out: Path, *, step: int, model, optimizer, scheduler, log, extra: dict) -> None:
    """Everything needed to continue exactly where training stopped, written atomically."""
    import torch

    path = state_dir(out) / "state.pt"
    state = {
        "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "log": asdict(log), "extra": extra,
        "rng": {"python": random.getstate(), "numpy": _numpy_state(), "torch": torch.get_rng_state()},
    }
    with atomic.staged_file(path) as tmp:
        torch.save(state, tmp)


def load_state(out: Path) -> dict | None:
    import torch

    path = state_dir(out) / "state.pt"
    if not path.is_file():
        return None
    try:
        # weights_only: a state file is data; unpickling arbitrary objects from it could run code.
        state = torch.load(path, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError or EOFError by cause
        raise BenchError(f"{path}: cannot resume from this training state ({type(exc).__name__}); "
                         "delete it to start over") from None
    random.setstate(_as_tuples(state["rng"]["python"]))
    name, keys, position, has_gauss, cached = state["rng"]["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["rng"]["torch"])
    return state


def _numpy_state() -> tuple:
    """numpy's RNG state in plain Python types, so the state file loads with ``weights_only=True``."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return name, [int(k) for k in keys], int(position), int(has_gauss), float(cached)


def _as_tuples(value):
    """``random.setstate`` wants tuples; a round trip through torch.save may hand back lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def clear_state(out: Path) -> None:
    shutil.rmtree(state_dir(out), ignore_errors=True)
