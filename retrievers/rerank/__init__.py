"""Second stages: rerankers and the cascade that puts one behind any first stage (``bm25>>ce:depth=100``).

``base`` is the reranker interface (score a query's candidates); ``ce`` the cross-encoder; ``sanity`` the
reference rerankers (shuffle, constant, oracle) that bound what any reranker can do; ``cascade`` the one
Retriever that fetches ``depth`` candidates, reranks and times both stages. Adding a reranker is one module here
and one line in ``retrievers.registry.RERANKERS``. May import: ``retrievers.base``, ``bench.data``, ``bench.encoding.encoder``,
``bench.encoding.models``, ``bench.core.errors``; never the harness.
"""
