"""What ``bench methods`` shows: every method and reranker with its parameters, ranges, defaults and runtimes.

Built from the declared ``Param``s and the registry, so a new method or option appears without touching the CLI.
"""
from __future__ import annotations

from dataclasses import dataclass

from retrievers.registry import REGISTRY, RERANKERS, reranker_class, retriever_class

ENGINE_PARAMS = ("runtime", "backend")  # the parameters that pick an engine rather than change the ranking's design


@dataclass(frozen=True)
class ParamInfo:
    name: str
    default: str
    allowed: str
    help: str
    query_time: bool  # changes searching, not the index: a sweep over it builds once


@dataclass(frozen=True)
class MethodInfo:
    name: str  # as typed: "bm25", or "A>>ce" for a reranker
    role: str  # as the class declares it: first stage, reranker, sanity reranker
    engines: str  # runtimes / backends it can run on, default first
    description: str
    params: tuple[ParamInfo, ...]


def _info(name: str, cls) -> MethodInfo:
    defaults = {key: param.default for key, param in cls.params.items()}
    query_time = cls.query_params_for(defaults)
    params = tuple(ParamInfo(key, repr(param.default), param.allowed(), param.help, key in query_time)
                   for key, param in cls.params.items())
    engines = [f"{key}: {' | '.join(map(str, cls.params[key].choices))}" for key in ENGINE_PARAMS
               if key in cls.params and cls.params[key].choices]
    return MethodInfo(name, cls.role, "; ".join(engines) or "-", cls.description, params)


def catalog() -> list[MethodInfo]:
    """First stages in registry order, fusion (composed as ``A+B``), then rerankers (``first_stage>>name``)."""
    from retrievers.fusion.retriever import FusionRetriever

    return ([_info(name, retriever_class(name)) for name in REGISTRY] + [_info("A+B", FusionRetriever)]
            + [_info(f"A>>{name}", reranker_class(name)) for name in RERANKERS])
