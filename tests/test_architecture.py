"""The import directions the design promises, checked on the source (ast), so a shortcut cannot creep in.

- ``retrievers`` (the methods) never imports the harness (runner, settings, measures, results, reports, CLI):
  a method only indexes and searches; it may use the shared infrastructure (data types, errors, atomic writes,
  the encoder and its embedding cache, model resolution, the JVM bridge).
- ``bench.data`` (datasets) imports neither ``retrievers`` nor the harness: data flows one way.
- Only the CLI package imports ``bench.cli``.
- Only ``bench/executors/ray_executor.py`` imports ``ray`` (an optional extra).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRASTRUCTURE = {"bench.data", "bench.errors", "bench.atomic", "bench.java", "bench.encoder", "bench.embedding_cache",
                  "bench.models", "bench.paths", "bench.runtimes"}


def imports(folder: str) -> dict[Path, set[str]]:
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "bench":
                names.update(f"bench.{alias.name}" for alias in node.names)  # "from bench import atomic"
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[path.relative_to(ROOT)] = names
    return found


def _within(module: str, allowed: set[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in allowed)


def test_retrievers_never_import_the_harness():
    for path, names in imports("retrievers").items():
        harness = sorted(m for m in names if m.split(".")[0] == "bench" and m != "bench" and not _within(m, INFRASTRUCTURE))
        assert not harness, f"{path} imports the harness: {harness}"


def test_data_layer_imports_neither_methods_nor_harness():
    allowed = {"bench.data", "bench.errors", "bench.atomic", "bench.paths"}
    for path, names in imports("bench/data").items():
        wrong = sorted(m for m in names if m.split(".")[0] in ("bench", "retrievers") and not _within(m, allowed))
        assert not wrong, f"{path} imports {wrong}"


def test_only_the_cli_imports_the_cli():
    for folder in ("bench", "retrievers"):
        for path, names in imports(folder).items():
            if path.parts[:2] == ("bench", "cli"):
                continue
            assert not any(_within(m, {"bench.cli"}) for m in names), f"{path} imports bench.cli"


def test_every_package_says_what_lives_there():
    for init in [*ROOT.glob("bench/**/__init__.py"), ROOT / "retrievers" / "__init__.py"]:
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"{init.relative_to(ROOT)} needs a docstring saying what lives there"


def test_the_harness_never_imports_rendering_and_rendering_never_imports_the_cli():
    """Data flows one way: harness -> Result -> reports; a table can change without touching measurement."""
    for path, names in imports("bench/harness").items():
        wrong = sorted(m for m in names if _within(m, {"bench.reports", "bench.cli", "bench.api"}))
        assert not wrong, f"{path} imports {wrong}"
    for path, names in imports("bench/reports").items():
        assert not any(_within(m, {"bench.cli"}) for m in names), f"{path} imports bench.cli"


def test_no_module_outgrows_one_job():
    too_long = [str(path.relative_to(ROOT)) for folder in ("bench", "retrievers") for path in (ROOT / folder).rglob("*.py")
                if len(path.read_text(encoding="utf-8").splitlines()) > 320]
    assert not too_long, f"modules over ~300 lines: {too_long}"


def test_ray_stays_optional_and_inside_the_executors():
    """Only ``bench/executors/ray_executor.py`` imports ray, nothing imports that module but the executors package
    itself (lazily), and bench's commands import without ray installed."""
    import subprocess
    import sys

    for folder in ("bench", "retrievers"):
        for path, names in imports(folder).items():
            if path != Path("bench/executors/ray_executor.py"):
                assert not any(_within(m, {"ray"}) for m in names), f"{path} imports ray"
            if path.parts[:2] != ("bench", "executors"):
                assert not any(_within(m, {"bench.executors.ray_executor"}) for m in names), f"{path} imports the Ray executor"
    code = "import sys, bench.cli, bench.harness.job, bench.executors; assert 'ray' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
