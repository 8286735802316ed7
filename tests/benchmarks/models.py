"""Models the benchmarks share: no trained cross-encoder ships offline, so a random one of MiniLM-L6's size."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def minilm_sized_cross_encoder(folder: Path) -> Path:
    """A random BertForSequenceClassification shaped like all-MiniLM-L6-v2, with its tokenizer: real compute cost."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    minilm = Path(os.environ["BENCH_MODEL_DIR"]) / "sentence-transformers__all-MiniLM-L6-v2"
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(minilm / name, folder / name)
    return folder
