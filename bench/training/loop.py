"""What both trainers share: seeding, the resumable training state, the log and its curve, atomic saving."""
from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench import atomic
from bench.errors import BenchError


@dataclass
class TrainConfig:
    base: str
    out: Path
    pairs: str = "title-text"
    negatives: str = "inbatch"
    hard_negatives: str | None = None
    batch_size: int = 32
    temperature: float = 0.05
    epochs: int = 1
    lr: float = 2e-5
    warmup: float = 0.1
    max_length: int = 256
    query_prefix: str = ""
    doc_prefix: str = ""
    seed: int = 0
    val_size: int = 200
    eval_every: int = 50
    save_every: int = 50
    max_steps: int | None = None
    device: str = "auto"
    threads: int | None = None


@dataclass
class TrainLog:
    config: dict
    steps: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    notes: list[str] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def state_dir(out: Path) -> Path:
    return Path(out).parent / f".{Path(out).name}.train-state"


def save_state(out: Path, *, step: int, model, optimizer, scheduler, log: TrainLog, extra: dict) -> None:
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


def write_log_and_curve(folder: Path, log: TrainLog, title: str) -> None:
    atomic.write_text(folder / "train_log.json", json.dumps(asdict(log), indent=1) + "\n")
    from bench.reports.plots import plt, save_figure

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    if log.steps:
        steps, losses = [s["step"] for s in log.steps], np.array([s["loss"] for s in log.steps])
        left.plot(steps, losses, linewidth=0.6, alpha=0.5, label="per step")
        window = max(1, min(20, len(losses) // 5))
        if window > 1:  # a trend line: one batch's loss is noisy
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            left.plot(steps[window - 1:], smooth, linewidth=1.6, label=f"mean of {window}")
            left.legend()
    left.set_xlabel("training step")
    left.set_ylabel("loss")
    left.grid(True, alpha=0.3)
    for key in ("recall@1", "nDCG@10"):
        points = [(v["step"], v[key]) for v in log.validation if key in v]
        if points:
            right.plot(*zip(*points), marker="o", label=f"held-out {key}")
    right.set_xlabel("training step")
    right.set_ylabel("validation score")
    right.grid(True, alpha=0.3)
    if log.validation:
        right.legend()
    figure.suptitle(title, fontsize=10)
    save_figure(figure, folder / "train_curve.png")


def ranking_scores(score_matrix: np.ndarray) -> dict[str, float]:
    """recall@1 and nDCG@10 when row i's single relevant item is column i."""
    correct = np.diag(score_matrix)[:, None]
    ranks = (score_matrix > correct).sum(axis=1)  # 0 = first
    ndcg = np.where(ranks < 10, 1.0 / np.log2(ranks + 2), 0.0)
    return {"recall@1": float((ranks == 0).mean()), "nDCG@10": float(ndcg.mean())}


def optimizer_step(loss, model, optimizer, scheduler, log: TrainLog, step: int, progress=None, task=None, label: str = "") -> int:
    """Backward, clip to norm 1, update, advance the schedule, log; returns the new step number."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    step += 1
    log.steps.append({"step": step, "loss": loss.item(), "lr": scheduler.get_last_lr()[0]})
    if progress is not None and task is not None:
        progress.update(task, completed=step, description=f"{label} (loss {loss.item():.3f})")
    return step
