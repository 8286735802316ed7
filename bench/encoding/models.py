"""Find a model by name or path and say exactly what is missing when it cannot be found.

Resolution: an existing folder; else ``$BENCH_MODEL_DIR/org__name``; else the Hugging Face hub name
(which works where the hub is reachable and fails fast with HF_HUB_OFFLINE=1).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from bench.core.errors import BenchError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


def resolve_model(name: str) -> str:
    """A local folder path for ``name`` when one exists, otherwise ``name`` itself (a hub id)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path.resolve())
    model_dir = os.environ.get("BENCH_MODEL_DIR")
    if model_dir:
        candidate = Path(model_dir) / name.replace("/", "__")
        if candidate.is_dir():
            return str(candidate.resolve())
    if path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1:
        raise BenchError(f"model '{name}': folder not found")
    return name


def missing_model_error(name: str, exc: Exception) -> BenchError:
    model_dir = os.environ.get("BENCH_MODEL_DIR")
    looked = f"$BENCH_MODEL_DIR/{name.replace('/', '__')}" + (f" ({model_dir})" if model_dir else " (BENCH_MODEL_DIR unset)")
    reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return BenchError(
        f"model '{name}' could not be loaded: not a local folder, not in {looked}, and the Hugging Face hub "
        f"did not provide it ({reason}); pass model=path/to/folder or put it in $BENCH_MODEL_DIR"
    )


def model_identity(resolved: str) -> str:
    """What makes cached embeddings of this model valid: the weights' hash locally, the hub revision otherwise."""
    path = Path(resolved)
    if not path.is_dir():
        try:
            from huggingface_hub import model_info

            return f"hub:{resolved}@{model_info(resolved).sha}"
        except Exception:  # offline: the name alone is the best identity we have
            return f"hub:{resolved}"
    weights = [path / name for name in WEIGHT_FILES if (path / name).is_file()]
    weights += sorted(p for p in path.glob("*.safetensors") if p not in weights)
    files = weights + [p for p in (path / "config.json", path / "tokenizer.json") if p.is_file()]
    return _hash_files(tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@functools.lru_cache(maxsize=64)
def _hash_files(signature: tuple[tuple[str, int, int], ...]) -> str:
    """Content hash of model files, remembered per (path, size, mtime): a sweep names the same model in every
    point and the runner records it after the retriever already hashed it; a rewritten file changes the key."""
    digest = hashlib.sha256()
    for name, _, _ in signature:
        digest.update(Path(name).name.encode())
        with open(name, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return f"local:{digest.hexdigest()[:20]}"


def local_model_identities(params: dict) -> dict[str, str]:
    """Weights hashes of the local models a method's parameters name (``model=...``, nested in cascades).

    Recorded in every result so that a stored result measured with other weights behind the same path (a model
    re-trained into the same folder) is recognised as stale instead of being reused. Hub names are left out:
    their identity would need the network.
    """
    return {name: model_identity(str(folder)) for name, folder in local_models(params).items()}


MODEL_CARD = "model_card.json"  # written by `bench train` beside the weights (bench.training.card)


def model_recipes(params: dict) -> dict[str, str]:
    """``{model: recipe short name}`` for every bench-trained local model a method's parameters name, read from
    its model card: what a leaderboard row shows so ``biencoder:model=/path`` says how the model was trained."""
    found = {}
    for name, folder in local_models(params).items():
        try:
            card = json.loads((folder / MODEL_CARD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(card, dict) and card.get("short_name"):
            found[name] = str(card["short_name"])
    return found


def local_models(params: dict) -> dict[str, Path]:
    """The local model folders a method's parameters name (``model=...``, nested in cascades), by the name used."""
    found: dict[str, Path] = {}

    def walk(value) -> None:
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if key == "model" and isinstance(item, str):
                try:
                    resolved = resolve_model(item)
                except BenchError:
                    continue
                if Path(resolved).is_dir():
                    found[item] = Path(resolved)
            else:
                walk(item)

    walk(params)
    return found


def sentence_transformers_config(resolved: str) -> dict:
    """Pooling, normalisation and max length declared by a sentence-transformers checkpoint (empty if none)."""
    path = Path(resolved)
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return {}
    modules = json.loads(modules_file.read_text())
    config: dict = {"normalize": any(m.get("type", "").endswith("Normalize") for m in modules)}
    for module in modules:
        if module.get("type", "").endswith("Pooling"):
            pooling = json.loads((path / module["path"] / "config.json").read_text())
            if pooling.get("pooling_mode_cls_token"):
                config["pooling"] = "cls"
            elif pooling.get("pooling_mode_max_tokens"):
                config["pooling"] = "max"
            else:
                config["pooling"] = "mean"
    bert_config = path / "sentence_bert_config.json"
    if bert_config.is_file():
        config["max_length"] = json.loads(bert_config.read_text()).get("max_seq_length")
    return config
