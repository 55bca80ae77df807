"""Sharded search on Ray Serve: a deployment per shard, the broker fusing as in-process.

One real Ray Serve start (about 20 s) serves two shards; the broker's answers must be
the in-process ``ShardedIndex``'s, and nothing of Ray may be left running after it.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import psutil
import pytest

from stepdr.core.errors import IndexCorruptError
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.versions import IndexDir
from stepdr.rank import Surfer

from .rankutil import DOMAINS
from .test_server import TOKEN, _serving

pytestmark = pytest.mark.integration
pytest.importorskip("ray.serve")

QUERIES = ["tide tables", "cod stocks quotas", "How are herring quotas set?", "货币政策"]


def _ray_children() -> list[str]:
    names = []
    for child in psutil.Process().children(recursive=True):
        try:
            names.append(" ".join(child.cmdline()))
        except psutil.Error:
            continue
    return [n for n in names if "raylet" in n or "gcs_server" in n or "ray::" in n]


def test_shards_on_ray_serve_answer_as_the_in_process_broker(corpus: Path, tmp_path: Path) -> None:
    from stepdr.index.ray_serve import RayShardedIndex, serve_shards

    data, warc = tmp_path / "sharded", corpus.parent / "corpus.warc.gz"
    for i in range(2):
        build_index(BuildConfig(data, warcs=(warc,), workers=1, min_words=5, max_words=60,
                                shard=(i, 2)), DOMAINS)  # fmt: skip
    version = IndexDir(data).current()
    local = Surfer(version)
    with serve_shards(version, "auto") as broker:
        assert isinstance(broker, RayShardedIndex) and len(broker.shards) == 2
        remote = Surfer(broker)
        for q in QUERIES:
            want = [(r.passage_id, round(r.score, 9)) for r in local.search(q, 10)]
            got = [(r.passage_id, round(r.score, 9)) for r in remote.search(q, 10)]
            assert got == want, q
        batch = remote.batch_search(QUERIES, 5)
        assert [[r.url for r in rows] for rows in batch] == [
            [r.url for r in rows] for rows in local.batch_search(QUERIES, 5)
        ]
        url = batch[1][0].url
        assert remote.batch_open([url])[0].content == local.batch_open([url])[0].content
        assert remote.stats()["passages"] == local.stats()["passages"]
        with _serving(remote, workers=2) as port:  # the HTTP server on the broker
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/search",
                json.dumps({"query": "tide tables", "n": 3}).encode(),
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=60) as resp:
                answer = json.loads(resp.read())
        assert [r["url"] for r in answer["results"]] == [
            r.url for r in local.search("tide tables", 3)
        ]
    assert _ray_children() == []  # the local cluster went with the broker


def test_a_version_that_is_not_sharded_is_refused(corpus: Path) -> None:
    from stepdr.index.ray_serve import serve_shards

    with (
        pytest.raises(IndexCorruptError, match="not a sharded version"),
        serve_shards(IndexDir(corpus).current(), "auto"),
    ):
        pass


def test_serve_and_mcp_on_ray_refuse_an_unsharded_index(corpus: Path) -> None:
    from click.testing import CliRunner

    from stepdr.rank.cli import main

    for command in ("serve", "mcp"):
        args = [command, "--data", str(corpus), "--no-auth", "--ray", "auto"]
        r = CliRunner().invoke(main, args)
        assert r.exit_code != 0 and "not a sharded version" in r.output, r.output
