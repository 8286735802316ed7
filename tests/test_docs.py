"""Every ``bench ...`` command shown in the README and in docs/ exists, with the options it shows.

The fenced code blocks of ``README.md`` and ``docs/*.md`` are read, and every command that starts with ``bench``
(also after ``&&``; ``\\`` continues a line, ``#`` starts a comment) is

- **parsed** by the real click command tree, exactly as the shell would hand it over: an unknown command, an
  unknown option or a bad option value fails, and its method specs are checked against the method registry;
- **run** in this process on a small subset (``--corpus 500 --queries 10``, few timed queries, an isolated cache
  and a scratch working folder holding a copy of the committed results), unless it is one of the few
  ``EXPENSIVE`` commands below (a 100k-document encode, training, a model this machine lacks), which are only
  parsed. A command is expensive only by being listed, so a new doc command runs unless someone decides otherwise,
  and a listed command that has left the docs fails the test.

Run cost: a couple of minutes in all on a 2-core machine (pyserini's JVM starts once per session).
"""
from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from conftest import MINILM, TOKENIZER_FILES, TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_FENCES = ("bash", "sh", "shell", "console", "")

# Shown in the docs, parsed here but never run: each costs minutes to hours, or needs what a test machine lacks.
EXPENSIVE_AS_SHOWN = {
    # the headline job: encodes 100,000 documents with MiniLM (~20 minutes on 2 cores)
    "bench run --methods bm25,biencoder --corpus 100k",
    "bench run --methods bm25,biencoder --corpus 100k --executor ray --ray-address head-node:6379",
    # dense encodes, sweeps and scale runs over full corpora
    "bench encode --model sentence-transformers/all-MiniLM-L6-v2 --corpus 200k --executor ray --threads 1 --workers 2",
    "bench run --methods \"biencoder:model=path/to/checkpoint,query_prefix=query: ,doc_prefix=passage: \"",
    "bench run --methods bert:pooling=cls --device cuda --batch-size 256",
    "bench sweep --dataset scifact --method \"ivf:nlist=16,64,256;nprobe=1,2,4,8,16,32\"",
    "bench sweep --dataset scifact --method \"binary:rescore=0,10,50,100,500,1000\"",
    "bench sweep --dataset scifact --method \"ivf:nlist=16,64,256;nprobe=1,4,16\" --executor ray --threads 1",
    "bench sweep --config sweeps/quantization.toml",
    "bench sweep --config sweeps/ivf-binary.toml --distractors nfcorpus,cacm,msmarco-dl19",
    "bench sweep --dataset msmarco-dl19 --method \"bm25>>ce:model=models/ce;depth=10,20,50,100,200\"",
    # a model folder only `bench train` writes (its card names the dev slice): tests/test_dev_slice.py runs --dev-of
    "bench sweep --dataset scifact --dev-of models/ft-scifact-train-dense --baseline bm25 "
    "--method \"bm25+[biencoder:model=models/ft-scifact-train-dense]:fusion=convex;alpha=0.3,0.5,0.7\"",
    "bench scale --dataset scifact --methods bm25,biencoder,binary,ivf:nlist=1024,nprobe=16 "
    "--sizes 10k,50k,100k,200k --project 1m,8.8m --budget-ms 100",
    # capacity searches: minutes per method, and a 100k-document dense index
    "bench load --methods bm25,biencoder --dataset scifact --slo p99=50ms",
    "bench load --methods \"biencoder,binary:rescore=100,ivf:nlist=1024,nprobe=16\" --dataset scifact --corpus 100k",
    # the gates: a dense job, every published figure, and a command that rewrites the committed baseline
    "bench check --baseline reports/baseline.json",
    # A/B against a revision: minutes of worker rounds; run as documented by tests/test_gate_against.py
    "bench check --baseline small.json --against HEAD --budget 20",
    "bench check --against main",
    "bench check --update-baseline",
    "bench reproduce --out runs/REPRODUCTION.md",
    # training (tens of minutes) and what benchmarks its output (a model folder that only training writes)
    "bench train biencoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --split train --pairs qrels "
    "--hard-negatives dense:1 --batch-size 16 --epochs 1 --lr 3e-5 --temperature 0.05 --out models/bi-scifact",
    "bench run --dataset scifact --methods \"biencoder,biencoder:model=models/bi-scifact\"",
    "bench train crossencoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --split train --pairs qrels "
    "--hard-negatives bm25:3 --batch-size 16 --max-length 128 --lr 8e-5 --head-lr 2e-3 --epochs 2 --out models/ce-scifact",
    "bench run --dataset scifact --methods \"bm25,bm25>>ce:model=models/ce-scifact,depth=20,max_length=128\"",
    "bench train crossencoder --base models/ce-scifact --dataset scifact --split train --pairs qrels --hard-negatives bm25:3 "
    "--max-length 128 --lr 5e-5 --head-lr 5e-4 --epochs 2 --seed 1 --out models/ce-scifact-s2",
    "bench train biencoder --base sentence-transformers/all-MiniLM-L6-v2 --dataset scifact --out models/bi-grid "
    "--grid \"lr=2e-5,5e-5;temperature=0.02,0.05\"",
}

# The subset a runnable command is shrunk to, and a short latency run.
SMALL = {"--corpus": "500", "--queries": "10", "--latency-queries": "3", "--warmup": "1", "--threads": "1"}
SHRUNK_COMMANDS = ("run", "sweep", "load", "encode")


@dataclass(frozen=True)
class DocCommand:
    where: str          # file:line
    text: str           # as shown, comments and continuations removed, whitespace normalised
    argv: tuple[str, ...]  # the arguments after ``bench``, as the shell passes them

    @property
    def expensive(self) -> bool:
        return self.text in EXPENSIVE


def fenced_lines(path: Path):
    """(line number, line) of every line inside a shell-like fenced block, ``\\`` continuations joined."""
    in_fence, inside, pending, start = False, False, "", 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = re.match(r"^\s*```(\S*)", line)
        if fence:
            in_fence = not in_fence
            inside = in_fence and fence.group(1) in SHELL_FENCES
            continue
        if not inside:
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield start, pending + line
        pending = ""


def bench_commands(path: Path) -> list[DocCommand]:
    found = []
    for number, line in fenced_lines(path):
        tokens = shlex.split(line, comments=True)
        segment: list[str] = []
        for token in [*tokens, "&&"]:
            if token in ("&&", "||", ";", "|"):
                if segment and segment[0] == "bench":
                    argv = tuple(_without_redirects(segment[1:]))
                    where = f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path.name}:{number}"
                    found.append(DocCommand(where, shlex.join(["bench", *argv]), argv))
                segment = []
            else:
                segment.append(token)
    return found


def _without_redirects(tokens: list[str]) -> list[str]:
    out, skip = [], False
    for token in tokens:
        if skip:
            skip = False
        elif token in (">", ">>", "2>", "<"):
            skip = True
        elif not re.match(r"^\d?>", token):
            out.append(token)
    return out


COMMANDS = [command for path in DOCS for command in bench_commands(path)]
# Written as a reader types them; compared in the form the shell hands over (shlex.join of the arguments).
EXPENSIVE = {shlex.join(shlex.split(text)) for text in EXPENSIVE_AS_SHOWN}


def test_the_docs_show_commands_and_the_expensive_list_is_current():
    assert len(COMMANDS) >= 30, f"only {len(COMMANDS)} bench commands found in {[p.name for p in DOCS]}"
    shown = {command.text for command in COMMANDS}
    stale = sorted(text for text in EXPENSIVE if text not in shown)
    assert not stale, "EXPENSIVE lists commands no doc shows any more:\n" + "\n".join(stale)


def resolve(argv: tuple[str, ...]) -> tuple[list[str], click.Context]:
    """Parse ``argv`` through the real command tree, as ``bench`` would, without invoking anything."""
    from bench.cli.app import cli

    path, command, args = [], cli, list(argv)
    ctx = command.make_context("bench", list(args))
    while isinstance(command, click.Group):
        protected = ctx.__dict__.get("_protected_args", None)  # click >= 8.2 keeps them here
        args = [*(ctx.protected_args if protected is None else protected), *ctx.args]
        assert args, f"`bench {' '.join(path)}` needs a command"
        name, command, rest = command.resolve_command(ctx, args)
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return path, ctx


def check_method_specs(path: list[str], params: dict) -> None:
    """Method specs as the command would read them: names and parameters must exist, values must be in range."""
    from bench.harness.sweep import expand_grid
    from retrievers import registry
    from retrievers.spec import split_specs

    if path[:1] == ["sweep"] and params.get("method"):
        for grid in params["method"]:
            assert expand_grid(grid), f"empty grid {grid!r}"
    value = params.get("methods")
    if isinstance(value, str):
        for spec in split_specs(value):  # one spec at a time, as Job.create resolves them
            registry.resolve(spec)


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.where} {c.text}"[:120] for c in COMMANDS])
def test_doc_command_parses(command: DocCommand, monkeypatch):
    """The command, its options and their values exist (`bench <command> --help` too); its method specs are valid."""
    from click.testing import CliRunner

    from bench.cli.app import cli

    monkeypatch.chdir(REPO)  # paths in the docs are relative to the repository (sweeps/*.toml, reports/...)
    path, ctx = resolve(command.argv)
    help_run = CliRunner().invoke(cli, [*path, "--help"])
    assert help_run.exit_code == 0, help_run.output
    check_method_specs(path, ctx.params)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A scratch working folder: copies of the committed results and sweep configs, and ./my-corpus."""
    root = tmp_path_factory.mktemp("docs-workspace")
    shutil.copytree(REPO / "reports", root / "reports", ignore=shutil.ignore_patterns("*.png", "training"))
    shutil.copytree(REPO / "sweeps", root / "sweeps")
    write_beir(root / "my-corpus", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    return root


def shrunk(command: DocCommand, path: list[str], ctx: click.Context) -> list[str]:
    """The command on a small subset: ``--corpus 500 --queries 10`` and a short latency run, for a named dataset
    (each only where the command has that option)."""
    argv = list(command.argv)
    dataset = _option(argv, "--dataset", "-d")
    if path[0] not in SHRUNK_COMMANDS or (dataset is not None and ("/" in dataset or dataset.startswith("."))):
        return argv
    has = {option for param in ctx.command.params for option in param.opts}
    for option, value in SMALL.items():
        if option in has:
            argv = _set_option(argv, option, value)
    return argv


def _option(argv: list[str], *names: str) -> str | None:
    for i, token in enumerate(argv):
        if token in names and i + 1 < len(argv):
            return argv[i + 1]
        for name in names:
            if token.startswith(name + "="):
                return token.split("=", 1)[1]
    return None


def _set_option(argv: list[str], name: str, value: str) -> list[str]:
    for i, token in enumerate(argv):
        if token == name:
            return [*argv[:i + 1], value, *argv[i + 2:]]
        if token.startswith(name + "="):
            return [*argv[:i], f"{name}={value}", *argv[i + 1:]]
    return [*argv, name, value]


RUNNABLE = [c for c in COMMANDS if not c.expensive]


@pytest.fixture(scope="module")
def small_models(tmp_path_factory) -> Path:
    """A model folder in which the docs' default models (MiniLM, the MS MARCO cross-encoder) are 2-layer, 32-wide
    random BERTs with MiniLM's real tokenizer: every dense and cross-encoder path runs as shown, in seconds. What
    the real models score is tested elsewhere (test_dense, test_rerank) and measured in docs/figures.md."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from conftest import make_tiny_bert

    root = tmp_path_factory.mktemp("docs-models")
    make_tiny_bert(root / "sentence-transformers__all-MiniLM-L6-v2")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=1)
    cross = root / "cross-encoder__ms-marco-MiniLM-L-6-v2"
    BertForSequenceClassification(config).save_pretrained(cross)
    for name in TOKENIZER_FILES:
        shutil.copy(MINILM / name, cross / name)
    return root


@pytest.fixture
def quick(monkeypatch, workspace, small_models):
    """The scratch folder, the small models, and warm-up bounded at 2 s per method (the rule is unchanged: it runs
    until the timings are stable or the bound is hit, and the result says which)."""
    from functools import partial

    import bench.harness.latency as latency

    monkeypatch.chdir(workspace)
    monkeypatch.setenv("BENCH_MODEL_DIR", str(small_models))
    monkeypatch.setattr(latency, "warm_until_stable", partial(latency.warm_until_stable, max_seconds=2.0))


@pytest.mark.parametrize("command", RUNNABLE, ids=[f"{c.where} {c.text}"[:120] for c in RUNNABLE])
def test_doc_command_runs(command: DocCommand, quick, run_cli):
    """Run it, on a small subset, in a scratch folder: it must succeed."""
    path, ctx = resolve(command.argv)
    argv = shrunk(command, path, ctx)
    code, out, err = run_cli(*argv)
    assert code == 0, f"`bench {shlex.join(argv)}` (shown at {command.where}) exited {code}:\n{out[-2000:]}\n{err[-3000:]}"


def python_blocks(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 2, m.group(1)) for m in re.finditer(r"```python\n(.*?)```", text, re.S)]


PYTHON = [(f"{path.relative_to(REPO)}:{line}", code) for path in DOCS for line, code in python_blocks(path)]


@pytest.mark.parametrize("where,code", PYTHON, ids=[where for where, _ in PYTHON])
def test_doc_python_runs(where: str, code: str, quick):
    """The Python examples run as shown (they are small already)."""
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})


REPO_PATH = re.compile(r"`((?:bench|retrievers|tests|reports|datasets|sweeps|examples|docs|\.ci)/[\w./<>*…+=-]*)")


def _exists(name: str) -> bool:
    """A path, or a pattern where ``<model>``, ``*`` and ``…`` stand for any part of a name."""
    pattern = re.sub(r"<[^>]*>|…", "*", name.rstrip("."))
    return any(REPO.glob(pattern.rstrip("/"))) if "*" in pattern else (REPO / pattern).exists()


def test_every_repository_path_the_docs_name_exists():
    """A file or folder named in backticks (`bench/encoding/encoder.py`, `reports/scale/`) is where the docs say."""
    named = [(path, name) for path in DOCS for name in REPO_PATH.findall(path.read_text(encoding="utf-8"))]
    assert len(named) >= 50
    missing = [f"{path.relative_to(REPO)}: {name}" for path, name in named if not _exists(name)]
    assert not missing, "paths the docs name that do not exist:\n" + "\n".join(missing)


def test_the_extraction_reads_continuations_comments_and_chains(tmp_path):
    """The reader itself: a continued line is one command, comments are dropped, `&&` chains and redirects split."""
    page = tmp_path / "page.md"
    page.write_text(
        "```bash\n"
        "bench run --methods \"bm25>>oracle\" \\\n    --corpus 2k   # a comment\n"
        "export X=1 && bench datasets > out.txt\n"
        "pytest\n"
        "```\n\n```python\nbench.run()\n```\nprose with an apostrophe's quote\n", encoding="utf-8")
    commands = bench_commands(page)
    assert [c.argv for c in commands] == [("run", "--methods", "bm25>>oracle", "--corpus", "2k"), ("datasets",)]
    assert [c.where for c in commands] == ["page.md:2", "page.md:4"]


def test_an_unknown_option_or_command_in_the_docs_fails():
    """The parse check can fail: a misspelt option, a missing command and an unknown method are all caught."""
    with pytest.raises(click.UsageError):
        resolve(("run", "--method", "bm25"))          # `run` takes --methods
    with pytest.raises(click.UsageError):
        resolve(("bogus",))
    from bench.core.errors import BenchError

    path, ctx = resolve(("run", "--methods", "bm25:k3=1"))
    with pytest.raises(BenchError):
        check_method_specs(path, ctx.params)


HEADLINE = REPO / "reports/scale/scifact/runs/scifact/+distractors-wordnet+distractors-gcide-100000docs-allq-seed0-501da15c"


def test_the_readme_headline_table_is_the_committed_results():
    """Every figure of the README's headline table is what `bench report` gives for the committed 100k results."""
    import bench

    frame = bench.load_results(HEADLINE).to_pandas().set_index("method")
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| method | nDCG@10 | R@10 | R@100 | p50 ms | QPS | index MB |"):].split("\n\n")[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("| `")]
    assert len(rows) == 5
    for line in rows:
        cells = [cell.strip().strip("*").rstrip("▼▲").strip("*") for cell in line.strip("|").split("|")]
        method = re.match(r"`([^`]+)`", cells[0]).group(1)
        row = frame.loc[method]
        shown = [float(cell.replace(",", "")) for cell in cells[1:]]
        assert shown[:3] == [round(row["nDCG@10"], 4), round(row["R@10"], 4), round(row["R@100"], 4)], method
        assert shown[3] == pytest.approx(row["p50_ms"], abs=0.051), method
        assert shown[4:] == [round(row["qps"], 1), round(row["index_mb"], 1)], method
