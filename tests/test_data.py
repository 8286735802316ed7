"""Loading real layouts and taking reproducible subsets."""
from __future__ import annotations


import pytest

from bench.data.resolve import load_dataset
from bench.data.subset import make_subset, parse_size
from bench.data.layouts import load_folder
from bench.core.errors import BenchError
from conftest import TOY_DOCS, TOY_QRELS, TOY_QUERIES, write_beir


def test_real_datasets_load_with_documented_counts(shared_data):
    scifact = load_dataset("scifact")
    assert (len(scifact.corpus), len(scifact.queries)) == (5183, 300)
    cacm = load_dataset("cacm")
    assert (len(cacm.corpus), len(cacm.queries)) == (3204, 52)
    assert "55 judgments name documents absent" in cacm.warnings[0]
    padded = load_dataset("cacm", split="test.zero-padded")
    assert not padded.warnings
    dl19 = load_dataset("msmarco-dl19")
    assert (len(dl19.corpus), len(dl19.queries)) == (5001, 43)
    assert set(dl19.qrels["19335"].values()) <= {0, 1, 2, 3}


def test_dataset_by_folder_path_and_gzip(tmp_path):
    folder = write_beir(tmp_path / "mine", TOY_DOCS, TOY_QUERIES, TOY_QRELS, gz=True)
    data = load_dataset(str(folder))
    assert data.name == "mine" and len(data.corpus) == len(TOY_DOCS)


def test_msmarco_tsv_layout(tmp_path):
    folder = tmp_path / "mm"
    folder.mkdir()
    (folder / "collection.tsv").write_text("0\tfirst passage\n1\tsecond passage\n")
    (folder / "queries.dev.small.tsv").write_text("100\twhich passage\n")
    (folder / "qrels.dev.small.tsv").write_text("100\t0\t1\t1\n")
    data = load_folder(folder, split="dev.small")
    assert data.queries == {"100": "which passage"} and data.qrels == {"100": {"1": 1}}


def test_trec_layout(tmp_path):
    folder = tmp_path / "trec"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "a.trec").write_text(
        "<DOC>\n<DOCNO> FT-1 </DOCNO>\n<HEADLINE>Rates rise</HEADLINE>\n<TEXT>The bank raised rates.</TEXT>\n</DOC>\n"
        "<DOC>\n<DOCNO> FT-2 </DOCNO>\n<TEXT>Football results.</TEXT>\n</DOC>\n"
    )
    (folder / "topics.txt").write_text("<top>\n<num> Number: 301\n<title> interest rates\n<desc> Description:\nx\n</top>\n")
    (folder / "qrels.txt").write_text("301 0 FT-1 1\n301 0 FT-2 0\n")
    data = load_folder(folder)
    assert data.corpus["FT-1"].title == "Rates rise" and data.queries == {"301": "interest rates"}


@pytest.mark.parametrize("text, size", [("10k", 10_000), ("100K", 100_000), ("1m", 1_000_000), ("full", None), ("2500", 2500)])
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_same_seed_same_subset_and_judged_docs_kept(shared_data):
    data = load_dataset("scifact")
    first = make_subset(data, corpus_size=1000, n_queries=50, seed=7)
    again = make_subset(data, corpus_size=1000, n_queries=50, seed=7)
    other = make_subset(data, corpus_size=1000, n_queries=50, seed=8)
    assert list(first.corpus) == list(again.corpus) and first.fingerprint == again.fingerprint
    assert other.fingerprint != first.fingerprint
    assert len(first.corpus) == 1000 and len(first.queries) == 50
    judged = {doc for docs in first.qrels.values() for doc in docs}
    assert judged <= set(first.corpus)


def test_subset_larger_than_corpus_is_an_error(shared_data):
    with pytest.raises(BenchError, match="exceeds the 5,183 documents"):
        make_subset(load_dataset("scifact"), corpus_size=5184)


def test_deep_judged_subset_drops_judgments_it_cannot_hold(shared_data):
    data = make_subset(load_dataset("msmarco-dl19"), corpus_size=2000, n_queries=40, seed=0)
    assert len(data.corpus) == 2000
    assert data.subset["judged_docs_dropped"] > 0
    assert all(doc in data.corpus for docs in data.qrels.values() for doc in docs)


def _card(directory, name, url, checksum_line):
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.toml").write_text(
        f'name = "{name}"\nlayout = "beir"\nroot = "{name}"\n\n[[download]]\nurl = "{url}"\n{checksum_line}\n'
    )


def test_download_verifies_checksum_and_unpacks_into_cache(tmp_path, monkeypatch):
    import hashlib
    import zipfile

    source = write_beir(tmp_path / "src" / "toyzip", TOY_DOCS, TOY_QUERIES, TOY_QRELS)
    archive = tmp_path / "toyzip.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in source.rglob("*"):
            bundle.write(file, file.relative_to(source.parent))
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    cards = tmp_path / "cards"
    monkeypatch.setenv("BENCH_CARDS_DIR", str(cards))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "nowhere"))

    _card(cards, "toyzip", archive.as_uri(), 'md5 = "0123456789abcdef0123456789abcdef"')
    with pytest.raises(BenchError, match="checksum mismatch"):
        load_dataset("toyzip")
    assert not (tmp_path / "cache" / "downloads" / "toyzip" / "unpacked").exists()
    assert not list((tmp_path / "cache").rglob("toyzip.zip"))

    _card(cards, "toyzip", archive.as_uri(), f'md5 = "{md5}"')
    data = load_dataset("toyzip")
    assert len(data.corpus) == len(TOY_DOCS)
    assert (tmp_path / "cache" / "downloads" / "toyzip" / "unpacked" / "toyzip" / "corpus.jsonl").is_file()
