"""Model runtimes: a Hugging Face model run by PyTorch, or exported once to ONNX (optionally int8) for ONNX Runtime.

Why: fp32 PyTorch is the slowest practical CPU path for a small transformer; ONNX Runtime fuses the graph and
int8 dynamic quantisation cuts the matrix multiplies to a quarter of the bytes. Only the network's forward pass
moves: tokenising, length batching, pooling and normalisation stay in ``bench.encoding.encoder`` (and the reranker), so
the runtimes differ only by numerics.

The export is keyed by the weights hash, the head (hidden states or logits), the runtime and the exporter's
versions, written atomically into ``<cache>/models/``; a file ONNX Runtime cannot open is said in one line,
removed and exported again. Thread count: a session per thread count, following ``torch.get_num_threads()``,
which the encoder's ``threads`` and the latency timer's ``limit_threads(1)`` both set, so one-thread latency is
one-thread for every runtime.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from bench.core import atomic
from bench.core.errors import BenchError

RUNTIMES = ("torch", "onnx", "onnx-int8")
INSTALL_HINT = 'pip install -e ".[onnx]"'
OPSET = 17
QUANTIZATION = "bert-fused+dynamic-qint8-per-channel"  # part of the export key: a changed recipe never reuses an old file
FUSABLE = ("bert", "roberta", "xlm-roberta", "distilbert", "electra", "mpnet")  # encoder-only families ORT's BERT fusion knows
HEADS = ("hidden", "logits")  # AutoModel's last_hidden_state, AutoModelForSequenceClassification's logits


def runtime_problem(runtime: str) -> str | None:
    """An unknown runtime or a missing ONNX install in one phrase (checked before any model is loaded), or None."""
    if runtime not in RUNTIMES:
        return f"runtime '{runtime}' is not one of {', '.join(RUNTIMES)}"
    if runtime != "torch":
        try:
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            return f"runtime={runtime} needs onnx and onnxruntime ({exc.name} is not installed): {INSTALL_HINT}"
    return None


def check_runtime(runtime: str) -> None:
    problem = runtime_problem(runtime)
    if problem:
        raise BenchError(problem)


def rows_per_forward(runtime: str, batch_size: int) -> int:
    """How many texts (or pairs) one forward pass may take. Dynamic quantisation scales each activation tensor by
    its own range, over the whole padded batch, so in a batch an int8 vector or score depends on its batch mates
    (all-MiniLM-L6-v2 on scifact documents: cosine 0.989-0.998 between the same text encoded in batches of 1, 8,
    32 and 64). One row per pass makes it a function of the text alone -- cacheable, the same at serving time
    (one query) as in the quality run -- for ~5% of int8 encode throughput on a 2-core CPU (40-42 vs 42-44
    docs/s), since length-sorted batches save little padding there. fp32 runtimes batch freely."""
    return 1 if runtime == "onnx-int8" else batch_size


def runtime_key(runtime: str) -> dict:
    """What a runtime adds to an embedding-cache or score-store key: nothing for torch (keys from before runtimes
    existed stay valid), the runtime for onnx, and for onnx-int8 the quantisation recipe and the one-row forward
    passes, so vectors or scores from an older int8 recipe, or from batched int8 passes, are never reused."""
    if runtime == "torch":
        return {}
    return {"runtime": runtime} | ({"quantization": QUANTIZATION, "rows_per_forward": 1}
                                   if runtime == "onnx-int8" else {})


def _versions() -> dict:
    import onnx
    import onnxruntime
    import torch

    return {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "opset": OPSET}


def export_path(cache_root: Path, identity: str, head: str, runtime: str) -> Path:
    recipe = {"quantization": QUANTIZATION} if runtime == "onnx-int8" else {}
    payload = json.dumps({"weights": identity, "head": head, "runtime": runtime, **recipe, **_versions()}, sort_keys=True)
    return Path(cache_root) / "models" / f"{hashlib.sha256(payload.encode()).hexdigest()[:24]}-{head}-{runtime}.onnx"


def _export(resolved: str, head: str, path: Path) -> None:
    """TorchScript-trace export with dynamic batch and sequence axes (eager attention: SDPA does not trace)."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    loader = AutoModel if head == "hidden" else AutoModelForSequenceClassification
    model = loader.from_pretrained(resolved, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(resolved)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if head == "logits" and "token_type_ids" in tokenizer.model_input_names else [])

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            out = self.model(**dict(zip(names, inputs)))
            return out.last_hidden_state if head == "hidden" else out.logits

    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    output = "hidden" if head == "hidden" else "logits"
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {output: {0: "batch"} | ({1: "tokens"} if head == "hidden" else {})}
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Forward(), example, str(path), input_names=names, output_names=[output],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _fuse(source: Path, resolved: str, path: Path) -> Path:
    """ONNX Runtime's transformer optimiser (fused Attention, SkipLayerNorm, BiasGelu) written to ``path``, or
    ``source`` unchanged for a model family it does not know. Why before quantising: ONNX Runtime fuses an fp32
    graph at load time anyway, but a quantised graph's attention is already split into int8 MatMuls it can no
    longer fuse; fusing first gives QAttention kernels: about 1.2x int8's docs/s on MiniLM here, same cosine."""
    config = json.loads((Path(resolved) / "config.json").read_text()) if (Path(resolved) / "config.json").is_file() else {}
    heads, hidden = config.get("num_attention_heads", config.get("n_heads")), config.get("hidden_size", config.get("dim"))
    if config.get("model_type") not in FUSABLE or not heads or not hidden:
        return source
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(source), model_type="bert", num_heads=int(heads), hidden_size=int(hidden), opt_level=1)
    fused.save_model_to_file(str(path))
    return path


def _quantize(source: Path, resolved: str, path: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # its "consider pre-processing" hint
    fused = _fuse(source, resolved, path.with_name(path.name + ".fused.onnx"))
    try:
        # Per-channel weight scales: per-tensor int8 gave all-MiniLM-L6-v2 embeddings a mean cosine of 0.93 to
        # torch's (min 0.90) on scifact; per-channel gives 0.993 (min 0.988) at the same size and speed. The fused
        # ops come from ONNX Runtime's own domain, which shape inference cannot type: their outputs are float.
        quantize_dynamic(str(fused), str(path), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        if fused != source:
            fused.unlink(missing_ok=True)


def exported_model(resolved: str, identity: str, head: str, runtime: str, cache_root: Path,
                   warn: Callable[[str], None] | None = None) -> Path:
    """The cached ONNX file for (weights, head, runtime), exported (and quantised) now when missing or corrupt."""
    path = export_path(cache_root, identity, head, runtime)
    if path.is_file():
        problem = _unusable(path)
        if problem is None:
            return path
        if warn:
            warn(f"cached ONNX model {path.name} is corrupt ({problem}); exporting it again")
        path.unlink(missing_ok=True)
    atomic.clean_stale(path)
    with atomic.staged_file(path, suffix=".onnx") as tmp:
        if runtime == "onnx":
            _export(resolved, head, tmp)
        else:
            _quantize(exported_model(resolved, identity, head, "onnx", cache_root, warn), resolved, tmp)
        problem = _unusable(tmp)
        if problem:
            raise BenchError(f"exporting {resolved} to ONNX ({runtime}) produced an unusable file: {problem}")
    return path


def _unusable(path: Path) -> str | None:
    """Why ONNX Runtime cannot open ``path`` (one phrase), or None: a truncated or foreign file fails here."""
    import onnxruntime as ort

    try:
        ort.InferenceSession(str(path), _options(1), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf/InvalidGraph types
        text = str(exc).strip().splitlines()
        return (text[-1] if text else type(exc).__name__)[:120]
    return None


def _options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxModel:
    """An exported model behind ONNX Runtime: torch tensors in (as the tokenizer pads them), a torch tensor out,
    so the caller's pooling and scoring code is the same for every runtime."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sessions: dict[int, object] = {}

    def session(self, threads: int):
        if threads not in self.sessions:
            import onnxruntime as ort

            self.sessions[threads] = ort.InferenceSession(str(self.path), _options(threads), providers=["CPUExecutionProvider"])
        return self.sessions[threads]

    def __call__(self, batch: dict) -> "torch.Tensor":  # noqa: F821
        import torch

        session = self.session(max(1, torch.get_num_threads()))
        wanted = [node.name for node in session.get_inputs()]
        feeds = {name: np.ascontiguousarray(batch[name].cpu().numpy(), dtype=np.int64) for name in wanted}
        return torch.from_numpy(session.run(None, feeds)[0])

    def nbytes(self) -> int:
        return self.path.stat().st_size
