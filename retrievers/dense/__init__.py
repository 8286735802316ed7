"""Dense retrieval as composition: one encoder kind x one index backend over one embedding cache.

``encoders`` says how a model turns text into vectors (``bert``: a plain encoder, mean-pooled;
``biencoder``: a sentence-transformers checkpoint's own pooling and normalisation). ``backends`` says how
those vectors are searched (flat, 1-bit, scalar-quantised, IVF, IVF over 1-bit codes). ``retriever`` is the
one Retriever that owns the shared work (model, cache, query encoding, latency split) for any pair, and
``methods`` names the pairs users type. Adding an index backend is one class in ``backends`` and one line in
``methods.BACKENDS``; adding an encoder kind is one entry in ``encoders.KINDS`` and one in ``methods.ENCODERS``.
May import: ``retrievers.base``, ``bench.encoding.encoder``, ``bench.encoding.embedding_cache``, ``bench.encoding.models``, ``bench.core.atomic``.
"""
