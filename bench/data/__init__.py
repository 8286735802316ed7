"""Datasets: loading real collections, resolving them by name, and taking reproducible subsets.

May import ``bench.core`` only: data flows one way, into the methods and the harness.
"""
from bench.data.dataset import Dataset, Document
from bench.data.resolve import load_dataset
from bench.data.subset import QueryList, make_subset, parse_size

__all__ = ["Dataset", "Document", "QueryList", "load_dataset", "make_subset", "parse_size"]
