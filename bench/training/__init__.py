"""`bench train`: fine-tune a bi-encoder or a cross-encoder on a dataset's training split (or weak pairs), then benchmark it.

What lives here: ``data`` (pairs, the seeded dev slice, judged positives), ``negatives`` (BM25 / model mining),
``loop`` (the one training loop and its ``Objective`` protocol), ``biencoder`` and ``crossencoder`` (the two
objectives), ``run`` (options to a saved folder), ``grid`` (sweeps kept by dev), ``card``, ``curves``, ``progress``,
``state`` (resume), ``validate`` (option checks). It stands above the harness: may import ``bench.core``,
``bench.data``, ``bench.encoding``, ``retrievers`` (BM25 mining) and ``bench.harness`` (measures); never the CLI.
"""
