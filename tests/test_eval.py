"""Evaluation: readers, metrics, the known-item generator, and `stepdr-index eval`."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepdr.core.errors import ConfigError
from stepdr.crawl.domains_yaml import parse_domains
from stepdr.rank.cli import main
from stepdr.rank.evaluate import (
    EvalSet,
    granularity,
    mrr,
    ndcg,
    read_beir,
    read_qrels,
    read_queries,
    recall,
)
from stepdr.rank.known_items import generate, read_inventory, write_beir

EVAL = Path(__file__).parent / "fixtures" / "eval"


def test_metrics_match_hand_computation() -> None:
    judged = {"a": 2, "b": 1, "z": 1}
    ranking = ["x", "a", "y", "b"]
    dcg = 2 / 1.5849625 + 1 / 2.3219281
    idcg = 2 / 1 + 1 / 1.5849625 + 1 / 2
    assert ndcg(ranking, judged) == pytest.approx(dcg / idcg, rel=1e-6)
    assert mrr(ranking, judged) == 0.5
    assert mrr(["x"] * 10 + ["a"], judged) == 0.0  # beyond the cutoff
    assert recall(ranking, judged) == pytest.approx(2 / 3)
    assert ndcg(["a", "b", "z"], judged) == pytest.approx(1.0)
    assert ndcg(["a"], {}) == 0.0


def test_readers(tmp_path: Path) -> None:
    tsv = read_queries(EVAL / "corpus" / "queries.tsv")
    assert tsv["c4"] == "who sets monetary policy 货币政策"
    topics = read_queries(EVAL / "corpus" / "topics.txt")
    assert topics == {k: tsv[k] for k in ("c1", "c2")}
    qrels = read_qrels(EVAL / "corpus" / "qrels.txt")
    assert qrels["c1"] == {
        "https://gov.example.org/cod.html": 2,
        "https://blog.example.com/cod.html": 1,
    }
    beir = read_beir(EVAL / "known-items")
    assert len(beir.queries) == 60 and set(beir.qrels) == set(beir.queries)
    assert granularity(beir.qrels) == "url"
    assert granularity({"q": {"web_0123abcd": 1}}) == "cite"
    assert granularity({"q": {"12345": 1}}) == "passage"
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tab here\n")
    with pytest.raises(ConfigError, match=r"bad\.tsv:1"):
        read_queries(bad)
    bad.write_text("q1 doc\n")
    with pytest.raises(ConfigError, match=r"bad\.tsv:1"):
        read_qrels(bad)


def _inventory(path: Path, lines: list[str]) -> None:
    header = b"# Sphinx inventory version 2\n# Project: X\n# Version: 1\n# zlib\n"
    path.write_bytes(header + zlib.compress("\n".join(lines).encode()))


def test_known_items_from_an_inventory(tmp_path: Path) -> None:
    root = tmp_path / "html"
    (root / "library").mkdir(parents=True)
    for page in ("library/functools.html", "library/os.html", "glossary.html", "tutorial.html"):
        (root / page).write_text("<html></html>")
    _inventory(root / "objects.inv", [
        "functools.lru_cache py:function 1 library/functools.html#$ -",
        "os.getcwd py:function 1 library/os.html#$ -",
        "os.missing py:function 1 library/gone.html#$ -",  # page not in the mirror
        "tut-intro std:label -1 tutorial.html#intro An informal introduction",
        "intro2 std:label -1 library/os.html#x An informal introduction",  # ambiguous
        "single std:label -1 library/os.html#y Overview",  # one word: not a known item
        "tutorial std:doc -1 tutorial.html The Python tutorial",
        "virtual environment std:term -1 glossary.html#term-virtual-environment -",
        "PyObject_Call c:function 1 c-api/call.html#c.$ -",  # roles outside the mix
    ])  # fmt: skip
    assert (
        read_inventory(root / "objects.inv")[0].uri == "library/functools.html#functools.lru_cache"
    )
    domains = parse_domains({"domains": [{
        "domain": "docs.python.org", "path": "/3.11/", "name": "P", "category": "docs", "tier": 1,
        "mirror": {"path": str(root)},
    }]})  # fmt: skip
    items = generate(domains, tmp_path, per_site=50)
    got = {(i.kind, i.query, i.url) for i in items}
    base = "https://docs.python.org/3.11/"
    assert got == {
        ("api", "functools.lru_cache", base + "library/functools.html"),
        ("api", "os.getcwd", base + "library/os.html"),
        ("page", "The Python tutorial", base + "tutorial.html"),
        ("term", "virtual environment", base + "glossary.html"),
    }
    assert generate(domains, tmp_path, per_site=2) == generate(domains, tmp_path, per_site=2)
    assert len(generate(domains, tmp_path, per_site=2)) == 2
    back = read_beir(write_beir(items, tmp_path / "set"))
    assert back.qrels == {i.qid: {i.url: 1} for i in items}
    assert back.queries == {i.qid: i.query for i in items}
    bad = tmp_path / "bad.inv"
    bad.write_bytes(b"# Sphinx inventory version 1\n")
    with pytest.raises(ConfigError, match="version-2"):
        read_inventory(bad)


def test_eval_command_runs_the_grid(corpus: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    sets = EVAL / "corpus"
    args = ["eval", "--data", str(corpus), "--queries", str(sets / "queries.tsv"),
            "--qrels", str(sets / "qrels.txt"), "--runs", str(runs), "--json"]  # fmt: skip
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output[r.output.index("[") :].split("\nrun files")[0])
    assert [m["pipeline"] for m in rows] == [
        "bm25", "dense", "hybrid", "hybrid+authority", "hybrid+authority+page",
        "hybrid+authority+page+title",
    ]  # fmt: skip
    for m in rows:
        assert m["queries"] == 4 and 0.5 <= m["ndcg10"] <= 1.0 and m["recall100"] == 1.0
    run = (runs / "hybrid_authority.run").read_text().splitlines()
    first = run[0].split()
    assert first[:2] == ["c1", "Q0"] and first[3] == "1" and first[5] == "hybrid_authority"
    assert {line.split()[0] for line in run} == {"c1", "c2", "c3", "c4"}


def test_eval_command_errors(corpus: Path) -> None:
    r = CliRunner().invoke(main, ["eval", "--data", str(corpus), "--queries", "x.tsv"])
    assert r.exit_code != 0 and "go together" in r.output
    r = CliRunner().invoke(main, ["eval", "--data", str(corpus), "--beir", str(EVAL / "corpus"),
                                  "--pipelines", "hybrid"])  # fmt: skip
    assert r.exit_code != 0 and "qrels/test.tsv" in r.output


def test_unanswerable_known_items_are_left_out(corpus: Path) -> None:
    from stepdr.rank import Surfer
    from stepdr.rank.evaluate import answerable

    data = EvalSet(
        {"a": "cod", "b": "x"},
        {"a": {"http://gov.example.org/cod.html": 1}, "b": {"https://gone.example/": 1}},
    )
    kept = answerable(Surfer.open(corpus), data)
    assert kept.queries == {"a": "cod"}
    assert kept.qrels == {"a": {"https://gov.example.org/cod.html": 1}}  # the stored spelling
