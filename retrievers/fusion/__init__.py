"""Hybrid retrieval: fuse the rankings of two or more first stages (``bm25+biencoder:fusion=rrf``).

``normalise`` maps one arm's scores for one query onto a common scale (min-max, z-score); ``fuse`` combines the
arms' lists for one query (reciprocal rank fusion, convex combination, CombSUM, CombMNZ). Both work on plain
``Hits`` lists and numpy arrays, query by query, so the timed path never converts runs into another library's
objects; tests check them against ranx ``fuse`` on real runs. ``retriever`` is the method the registry builds.
"""
