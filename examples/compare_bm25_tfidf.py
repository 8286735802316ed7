"""Compare BM25 and TF-IDF on a scifact subset from Python, then reload the saved results.

    BENCH_DATA_DIR=../shared/datasets python examples/compare_bm25_tfidf.py runs/example

CI runs this script (tests/test_api.py), so it keeps working as the API changes.
"""
from __future__ import annotations

import sys

import bench


def main(out: str) -> None:
    results = bench.run(["bm25", "tfidf"], dataset="scifact", corpus="2k", queries=50, latency_queries=20)
    print(results.leaderboard())
    results.save(out)
    frame = bench.load_results(out).to_pandas().set_index("method")
    best = frame["nDCG@10"].idxmax()
    print(f"best nDCG@10: {best} ({frame.loc[best, 'nDCG@10']:.4f}); "
          f"BM25 p50 {frame.loc['bm25', 'p50_ms']:.2f} ms at depth {frame.loc['bm25', 'latency_k']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/example")
