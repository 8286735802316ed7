"""Leaderboards: a markdown table per dataset subset (for reports/) and a rich table for the terminal."""
from __future__ import annotations

from rich.table import Table

from bench.environment import hardware_line

# (header, getter, higher_is_better, format)
COLUMNS = [
    ("R@1", lambda r: r["metrics"].get("R@1"), True, "{:.4f}"),
    ("R@3", lambda r: r["metrics"].get("R@3"), True, "{:.4f}"),
    ("R@10", lambda r: r["metrics"].get("R@10"), True, "{:.4f}"),
    ("R@100", lambda r: r["metrics"].get("R@100"), True, "{:.4f}"),
    ("nDCG@10", lambda r: r["metrics"].get("nDCG@10"), True, "{:.4f}"),
    ("RR@10", lambda r: r["metrics"].get("RR@10"), True, "{:.4f}"),
    ("p50 ms", lambda r: r.get("latency_ms", {}).get("p50"), False, "{:.2f}"),
    ("p95 ms", lambda r: r.get("latency_ms", {}).get("p95"), False, "{:.2f}"),
    ("p99 ms", lambda r: r.get("latency_ms", {}).get("p99"), False, "{:.2f}"),
    ("QPS", lambda r: r.get("qps"), True, "{:.1f}"),
    ("build s", lambda r: r.get("build", {}).get("seconds"), False, "{:.2f}"),
    ("index MB", lambda r: (r.get("build", {}).get("index_bytes") or 0) / 2**20, False, "{:.1f}"),
]


def _cells(results: list[dict]) -> list[list[tuple[str, bool]]]:
    """Formatted cell text and whether it is the column's best value."""
    table = []
    values = [[get(r) for _, get, _, _ in COLUMNS] for r in results]
    best = []
    for column, (_, _, higher, fmt) in enumerate(COLUMNS):
        present = [row[column] for row in values if row[column] is not None]
        best.append((max(present) if higher else min(present)) if present and len(results) > 1 else None)
    for row in values:
        cells = []
        for column, (_, _, _, fmt) in enumerate(COLUMNS):
            value = row[column]
            text = "–" if value is None else fmt.format(value)
            is_best = value is not None and best[column] is not None and fmt.format(value) == fmt.format(best[column])
            cells.append((text, is_best))
        table.append(cells)
    return table


def title(results: list[dict]) -> str:
    info = results[0]["dataset"]
    subset = info.get("subset") or {}
    return (
        f"{info['name']} ({info['split']}): {info['n_docs']:,} docs, {info['n_queries']} queries, "
        f"subset {subset.get('corpus', 'full')}/{subset.get('queries', 'all')} seed {subset.get('seed', 0)}, "
        f"fingerprint {info['fingerprint']}"
    )


def markdown(results: list[dict]) -> str:
    if not results:
        return ""
    headers = ["Method", *[name for name, *_ in COLUMNS]]
    lines = [f"### {title(results)}", "", "| " + " | ".join(headers) + " |", "|" + "---|" + "---:|" * len(COLUMNS)]
    for result, cells in zip(results, _cells(results)):
        rendered = [f"**{text}**" if best else text for text, best in cells]
        lines.append(f"| `{result['method']}` | " + " | ".join(rendered) + " |")
    first = results[0]
    versions = first.get("versions", {})
    lines += [
        "",
        f"Hardware: {hardware_line(first.get('hardware', {}))}. "
        f"Versions: bench {versions.get('bench')}, pyserini {versions.get('pyserini')}, "
        f"torch {versions.get('torch')}, python {versions.get('python')}. "
        f"Commit {first.get('git_commit')}. Latency: one query at a time after "
        f"{first.get('config', {}).get('warmup', 0)} warm-up queries; QPS: batch search with "
        f"{first.get('config', {}).get('threads')} threads. Best per column in bold.",
        "",
    ]
    return "\n".join(lines)


def rich_table(results: list[dict]) -> Table:
    table = Table(title=title(results) if results else "no results")
    table.add_column("Method")
    for name, *_ in COLUMNS:
        table.add_column(name, justify="right")
    for result, cells in zip(results, _cells(results)):
        table.add_row(result["method"], *[f"[bold green]{text}[/]" if best else text for text, best in cells])
    return table
