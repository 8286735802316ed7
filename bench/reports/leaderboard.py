"""Leaderboards: a markdown table per dataset subset (for reports/) and a rich table for the terminal."""
from __future__ import annotations

from collections import Counter

from rich.markup import escape
from rich.table import Table

from bench.harness.environment import hardware_line
from bench.harness.measures import DEFAULT_MEASURES

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
    ("stages p50 ms", lambda r: stages_text(r), None, "{}"),
    ("QPS", lambda r: r.get("qps"), True, "{:.1f}"),
    ("build s", lambda r: r.get("build", {}).get("seconds"), False, "{:.2f}"),
    ("index MB", lambda r: (r.get("build", {}).get("index_bytes") or 0) / 2**20, False, "{:.1f}"),
]


BUSY_MARK, TIES_MARK, DEPTH_MARK = "†", "‡", "§"
SHOWN_MEASURES = {name for name, *_ in COLUMNS}


def columns(results: list[dict]) -> list[tuple]:
    """The fixed columns plus one per measure a user asked for (``--measures P@30,AP``) that no column shows.

    The defaults R@1000 and AP stay in the JSON, not the table, unless asked for by name."""
    asked = dict.fromkeys(
        m for r in results for m in (r.get("config") or {}).get("measures", ())
        if m not in SHOWN_MEASURES and tuple((r.get("config") or {}).get("measures", ())) != DEFAULT_MEASURES
    )
    extra = [(m, (lambda r, m=m: r["metrics"].get(m)), True, "{:.4f}") for m in asked]
    position = next(i for i, (name, *_) in enumerate(COLUMNS) if name == "p50 ms")
    return COLUMNS[:position] + extra + COLUMNS[position:]

TIES_FOOTNOTE_RANGE = 0.001
# Which breakdown parts make up a method's latency, in the order they run.
STAGES = (("first_stage", "rerank"), ("encode", "search"))


def stages_text(result: dict) -> str | None:
    """Per-stage p50 as ``a + b`` (cascade: first stage + rerank; dense: query encoding + search)."""
    parts = result.get("latency_breakdown_ms") or {}
    for names in STAGES:
        if all(name in parts and parts[name].get("p50") is not None for name in names):
            return " + ".join(f"{parts[name]['p50']:.2f}" for name in names)
    return None


def latency_note(result: dict) -> str:
    """How latency and QPS were measured, for the header line."""
    latency = result.get("latency") or {}
    config = result.get("config", {})
    depth = latency_depth(result)
    return (f"latency@{depth}: one query at a time, top-{depth}, {latency.get('threads', config.get('threads'))} "
            f"thread(s), after {config.get('warmup', 0)} warm-up queries; QPS: batch search at depth "
            f"{config.get('k')} with {result.get('qps_threads', config.get('threads'))} threads")


def latency_sentence(results: list[dict]) -> str:
    """The header's sentence on how latency and QPS were measured, for the rows' common protocol."""
    note = latency_note(reference(results))
    return note[0].upper() + note[1:] + "."


def headers(results: list[dict]) -> list[str]:
    """Column headers that say which latency is which: ``p50 ms (1 thr)``, ``QPS (batch, 2 thr)``."""
    first = reference(results) if results else {}
    latency_threads = (first.get("latency") or {}).get("threads")
    batch_threads = first.get("qps_threads", first.get("config", {}).get("threads"))
    names = []
    for name, *_ in columns(results):
        if name == "p50 ms" and latency_threads:
            name = f"p50 ms ({latency_threads} thr)"
        elif name == "QPS" and batch_threads:
            name = f"QPS (batch, {batch_threads} thr)"
        names.append(name)
    return names


def latency_depth(result: dict) -> int | None:
    """The depth latency was timed at; results from before --latency-k were timed at k + 1."""
    latency = result.get("latency") or {}
    if "k" in latency:
        return latency["k"]
    k = result.get("config", {}).get("k")
    return k + 1 if k is not None else None


def reference(results: list[dict]) -> dict:
    """The row whose measuring protocol the header describes: the first at the most common latency depth."""
    depths = Counter(latency_depth(r) for r in results if r.get("latency_ms"))
    if not depths:
        return results[0]
    common = depths.most_common(1)[0][0]
    return next(r for r in results if r.get("latency_ms") and latency_depth(r) == common)


def busy(result: dict) -> bool:
    return bool(((result.get("latency") or {}).get("load") or {}).get("busy"))


def tie_range(result: dict) -> float:
    return (result.get("ties") or {}).get("range") or 0.0


def _cells(results: list[dict]) -> list[list[tuple[str, bool]]]:
    """Formatted cell text and whether it is the column's best value; † marks latency timed on a busy machine."""
    table = []
    shown = columns(results)
    values = [[get(r) for _, get, _, _ in shown] for r in results]
    best = []
    for column, (_, _, higher, fmt) in enumerate(shown):
        present = [row[column] for row in values if row[column] is not None]
        ranked = higher is not None and present and len(results) > 1
        best.append((max(present) if higher else min(present)) if ranked else None)
    header_depth = latency_depth(reference(results)) if results else None
    for result, row in zip(results, values):
        cells = []
        for column, (name, _, _, fmt) in enumerate(shown):
            value = row[column]
            text = "–" if value is None else fmt.format(value)
            is_best = value is not None and best[column] is not None and fmt.format(value) == fmt.format(best[column])
            if name == "p50 ms" and value is not None and busy(result):
                text += BUSY_MARK
            if name == "p50 ms" and value is not None and latency_depth(result) != header_depth:
                text += DEPTH_MARK
            if name == "nDCG@10" and value is not None and tie_range(result) > TIES_FOOTNOTE_RANGE:
                text += TIES_MARK
            cells.append((text, is_best))
        table.append(cells)
    return table


def footnotes(results: list[dict]) -> list[str]:
    """The † and ‡ notes a table needs, one line each."""
    notes = []
    header_depth = latency_depth(reference(results)) if results else None
    for result in results:
        if result.get("latency_ms") and latency_depth(result) != header_depth:
            notes.append(f"{DEPTH_MARK} `{result['method']}`: latency timed at depth {latency_depth(result)}, not "
                         f"{header_depth}: not comparable with the other rows' latency.")
        if busy(result):
            load = result["latency"]["load"]
            notes.append(f"{BUSY_MARK} `{result['method']}`: the machine was busy while latency was timed (other "
                         f"processes {load.get('other_cores') or 0:.2f} cores, steal {load.get('steal_fraction') or 0:.0%}).")
        if tie_range(result) > TIES_FOOTNOTE_RANGE:
            ties = result["ties"]
            notes.append(f"{TIES_MARK} `{result['method']}`: tied scores; nDCG@10 lies in {ties['worst']:.4f}–"
                         f"{ties['best']:.4f} depending on the order of tied documents "
                         f"({ties['queries_tie_across_cutoff']} queries tie across rank 10; trec_eval orders ties by doc id).")
    return notes


def title(results: list[dict]) -> str:
    info = results[0]["dataset"]
    subset = info.get("subset") or {}
    padded = ""
    if subset.get("distractors"):
        padded = (f" ({subset.get('home_docs', 0):,} {info['name']} + {subset.get('distractor_docs', 0):,} distractors "
                  f"from {', '.join(subset['distractors'])})")
    return (
        f"{info['name']} ({info['split']}): {info['n_docs']:,} docs{padded}, {info['n_queries']} queries, "
        f"subset {subset.get('corpus', 'full')}/{subset.get('queries', 'all')} seed {subset.get('seed', 0)}, "
        f"fingerprint {info['fingerprint']}"
    )


def markdown(results: list[dict]) -> str:
    if not results:
        return ""
    names = ["Method", *headers(results)]
    lines = [f"### {title(results)}", "", "| " + " | ".join(names) + " |", "|" + "---|" + "---:|" * (len(names) - 1)]
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
        f"Commit {first.get('git_commit')}. {latency_sentence(results)} "
        "Stages: cascade first stage + rerank, dense query encoding + search. Best per column in bold.",
        *footnotes(results),
        "",
    ]
    return "\n".join(lines)


def rich_table(results: list[dict]) -> Table:
    caption = latency_sentence(results) + "\n" + "\n".join(footnotes(results)) if results else None
    table = Table(title=escape(title(results)) if results else "no results", caption=escape(caption) if caption else None)
    table.add_column("Method")
    for name in headers(results):
        table.add_column(name, justify="right")
    for result, cells in zip(results, _cells(results)):
        table.add_row(escape(result["method"]), *[f"[bold green]{escape(text)}[/]" if best else escape(text)
                                                   for text, best in cells])
    return table
