"""Turning text into vectors: model resolution, runtimes (torch, ONNX, int8), the encoder and its embedding cache.

May import ``bench.core`` and ``bench.data`` only; ``retrievers`` and everything above import it.
"""
