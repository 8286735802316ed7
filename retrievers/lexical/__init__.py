"""Lexical retrieval: term-matching methods over the raw text.

``tfidf`` (scikit-learn vectoriser, exact sparse dot product) and ``bm25`` (Lucene through pyserini, so its
figures reproduce published ones). Each module is one :class:`retrievers.base.Retriever` and one line in
``retrievers.registry.REGISTRY``. May import: ``retrievers.base``, ``bench.data``, ``bench.core.atomic``, ``bench.core.java``,
``bench.core.errors``; never the harness.
"""
