"""The layers the folders show, checked on the source (ast), so a shortcut cannot creep in.

Bottom to top; a module may import its own layer's package and any layer below it, never one above:

    bench.core -> bench.data -> bench.encoding -> retrievers -> bench.harness -> bench.reports -> bench.gates
    -> bench.api / bench.training -> bench.cli

Ray is an optional extra: only ``bench/harness/executors/ray_executor.py`` imports it, and only the executors package
imports that module (lazily, by name).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["bench.core", "bench.data", "bench.encoding", "retrievers", "bench.harness", "bench.reports", "bench.gates",
          "bench.api bench.training", "bench.cli"]
PACKAGE_ROOTS = ("bench", "retrievers")


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> tuple[int, str] | None:
    """(floor, package) of a bench module; None for third-party modules and for ``bench`` itself (the lazy API face)."""
    for floor, names in enumerate(LAYERS):
        for package in names.split():
            if _within(module, package):
                return floor, package
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names
                         if layer_of(f"{node.module}.{alias.name}") != layer_of(node.module))  # "from bench import api"
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def sources() -> list[Path]:
    return sorted(p for folder in PACKAGE_ROOTS for p in (ROOT / folder).rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    homeless = [str(p.relative_to(ROOT)) for p in sources() if layer_of(module_name(p)) is None and module_name(p) != "bench"]
    assert not homeless, f"modules outside every layer: {homeless}"


def upward(module: str, names: set[str]) -> list[str]:
    """The imported names that stand above ``module``'s layer, or beside it in another package of the same floor."""
    here = layer_of(module)
    if here is None:
        return []
    return sorted(n for n in names if (there := layer_of(n)) is not None
                  and (there[0] > here[0] or (there[0] == here[0] and there[1] != here[1])))


def test_no_import_runs_up_a_layer():
    found = [f"{path.relative_to(ROOT)} -> {name}" for path in sources()
             for name in upward(module_name(path), imports(path))]
    assert not found, "imports that run up (or sideways across) a layer:\n" + "\n".join(found)


def test_the_layer_check_fires_on_an_upward_import():
    """Worth something only if it can fail: a retriever importing the runner, or the data layer importing a method."""
    assert upward("retrievers.lexical.bm25", {"bench.harness.runner", "bench.core.errors"}) == ["bench.harness.runner"]
    assert upward("bench.data.subset", {"retrievers.base"}) == ["retrievers.base"]
    assert upward("bench.api", {"bench.training.run"}) == ["bench.training.run"]
    assert upward("bench.cli.run", {"bench.api", "bench.harness.job"}) == []


def test_every_package_says_what_lives_there():
    for init in [*ROOT.glob("bench/**/__init__.py"), *ROOT.glob("retrievers/**/__init__.py")]:
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split()) >= 8, f"{init.relative_to(ROOT)} needs a docstring saying what lives there"


def test_no_module_outgrows_one_job():
    too_long = [str(path.relative_to(ROOT)) for path in sources()
                if len(path.read_text(encoding="utf-8").splitlines()) > 320]
    assert not too_long, f"modules over ~300 lines: {too_long}"


def test_ray_stays_optional_and_inside_the_executors():
    ray_module = "bench.harness.executors.ray_executor"
    for path in sources():
        names = imports(path)
        if module_name(path) != ray_module:
            assert not any(_within(m, "ray") for m in names), f"{path} imports ray"
        if not module_name(path).startswith("bench.harness.executors"):
            assert not any(_within(m, ray_module) for m in names), f"{path} imports the Ray executor"
    code = "import sys, bench.cli, bench.harness.job, bench.harness.executors; assert 'ray' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
