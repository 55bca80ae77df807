"""Sharded builds searched as one: the same passages, the same dense results, BM25 close."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from stepdr.core.errors import ConfigError, IndexCorruptError
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.shards import ShardedIndex, shard_dir
from stepdr.index.versions import IndexDir
from stepdr.rank import Surfer
from stepdr.rank.cli import main
from stepdr.rank.pipeline import pipeline

from .rankutil import DOMAINS

QUERIES = [
    "tide tables", "cod stocks quotas", "harbour dues", "monetary policy rate",
    "fishing permits for coastal vessels", "quota allocation", "tidal range", "货币政策",
]  # fmt: skip


def _sharded(corpus: Path, tmp: Path, num: int = 3) -> Path:
    data = tmp / "sharded"
    warc = corpus.parent / "corpus.warc.gz"
    for i in range(num):
        config = BuildConfig(
            data, warcs=(warc,), workers=1, min_words=5, max_words=60, shard=(i, num)
        )
        result = build_index(config, DOMAINS)
        assert (result.sharded is None) == (i < num - 1)  # the last shard publishes
    return data


@pytest.fixture(scope="module")
def sharded(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sharded(corpus, tmp_path_factory.mktemp("shards"))


def _all(surfer: Surfer) -> set[tuple[str, int, str]]:
    index = surfer.index
    versions = index.shards if isinstance(index, ShardedIndex) else [index]
    return {
        (p.url, p.ordinal, p.text)
        for v in versions
        for p in v.store.get_many(v.store.all_ids()).values()
    }


def test_shards_hold_the_unsharded_passages_and_search_as_one(
    surfer: Surfer, sharded: Path
) -> None:
    whole = Surfer.open(sharded)
    assert isinstance(whole.index, ShardedIndex) and len(whole.index.shards) == 3
    sizes = [s.store.count() for s in whole.index.shards]
    assert all(n > 0 for n in sizes) and sum(sizes) == surfer.index.store.count()
    assert _all(whole) == _all(surfer)  # each passage in exactly one shard
    dense, bm25 = pipeline("dense"), pipeline("bm25")
    overlap = []
    for q in QUERIES:
        if surfer.index.dense_covers(q):
            a = [r.passage_id for r in surfer.search(q, 10, dense)]
            b = [r.passage_id for r in whole.search(q, 10, dense)]
            assert a == b, q  # cosines are global: the merge is exact
        a_ids = {r.passage_id for r in surfer.search(q, 10, bm25)}
        b_ids = {r.passage_id for r in whole.search(q, 10, bm25)}
        overlap.append(len(a_ids & b_ids) / max(1, len(a_ids)))
    print(f"BM25 top-10 overlap, sharded vs unsharded: {sum(overlap) / len(overlap):.2f}")
    assert sum(overlap) / len(overlap) >= 0.6  # per-shard IDF drifts a little
    hybrid = whole.search("cod stocks quotas", 5)
    assert hybrid and hybrid[0].url == surfer.search("cod stocks quotas", 5)[0].url
    url = hybrid[0].url
    page = Surfer.open(sharded).batch_open([url])[0]  # fresh surfers: no matches marked
    assert page.content and page.content == Surfer(surfer.version).batch_open([url])[0].content


def test_a_missing_or_mismatched_shard_is_refused(
    corpus: Path, sharded: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(sharded, copy)
    broken = IndexDir(shard_dir(copy, 1, 3)).current()
    shutil.rmtree(broken / "bm25")
    with pytest.raises(IndexCorruptError, match="shard 1"):
        ShardedIndex.open(IndexDir(copy).current())
    other = tmp_path / "other"
    shutil.copytree(sharded, other)
    warc = corpus.parent / "corpus.warc.gz"
    config = BuildConfig(other, warcs=(warc,), workers=1, min_words=6, max_words=60, shard=(2, 3))
    with pytest.raises(ConfigError, match="shard 2 of 3 was built with other settings"):
        build_index(config, DOMAINS)


def test_shard_options_are_checked() -> None:
    r = CliRunner().invoke(main, ["build", "--shard-id", "3", "--shard-num", "3"])
    assert r.exit_code == 2 and "out of range for 3 shard(s)" in r.output
    r = CliRunner().invoke(main, ["build", "--shard-id", "1"])
    assert r.exit_code == 2 and "go together" in r.output


def test_stats_and_verify_read_a_sharded_index(sharded: Path) -> None:
    import json

    r = CliRunner().invoke(main, ["stats", "--data", str(sharded), "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["shards"] == 3 and info["passages"] > 0 and info["dense_index"] == "flat"
    r = CliRunner().invoke(main, ["verify", "--data", str(sharded)])
    assert r.exit_code == 0 and r.stdout.startswith("ok ")
