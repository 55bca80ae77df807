"""`--model static`: distilled once, offline, from the bundled MiniLM; built and searched."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepdr.core.errors import ConfigError
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.versions import IndexDir, read_manifest
from stepdr.rank import Surfer
from stepdr.rank.pipeline import pipeline

from .rankutil import DOMAINS

pytestmark = pytest.mark.integration
pytest.importorskip("model2vec")


def test_static_embedder_builds_searches_and_refuses_another_distillation(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPDR_MODELS", str(tmp_path / "models"))
    data = tmp_path / "data"
    warc = corpus.parent / "corpus.warc.gz"
    config = BuildConfig(data, warcs=(warc,), workers=1, min_words=5, max_words=60, model="static")
    build_index(config, DOMAINS)
    manifest = read_manifest(IndexDir(data).current())
    emb = manifest["embedding"]
    assert emb["model"] == "all-MiniLM-L6-v2-static-256" and emb["dim"] == 256 and emb["weights"]
    surfer = Surfer.open(data)
    hits = surfer.search("cod stocks quotas", 3, pipeline("dense"))
    assert hits and "cod" in (hits[0].title + hits[0].snippet).lower()
    # Another machine's distillation (here: a changed weight file) is refused, by name.
    weights = next((tmp_path / "models").rglob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ConfigError, match="not the one this index was built with"):
        Surfer.open(data).search("cod stocks quotas", 3, pipeline("dense"))
