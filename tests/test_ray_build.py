"""`build --ray`: extraction as Ray tasks and embedding on Ray actors give the
single-process build's passages and vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stepdr.core.errors import ConfigError
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.dense import DenseIndex
from stepdr.index.store import PassageStore
from stepdr.index.versions import IndexDir

from .rankutil import DOMAINS

pytestmark = pytest.mark.integration
pytest.importorskip("ray")


def _contents(data: Path) -> tuple[dict[int, tuple[str, int, str]], dict[int, np.ndarray]]:
    import faiss

    live = IndexDir(data).current()
    store = PassageStore(live)
    passages = {p.id: (p.url, p.ordinal, p.text) for p in store.get_many(store.all_ids()).values()}
    store.close()
    dense = DenseIndex(live, use_gpu=False)
    assert dense.kind == "flat"
    index = faiss.read_index(str(live / "dense.faiss"))
    vecs = index.index.reconstruct_n(0, index.ntotal)
    ids = faiss.vector_to_array(index.id_map)
    return passages, {int(i): v for i, v in zip(ids, vecs, strict=True)}


def test_a_ray_build_matches_the_single_process_build(corpus: Path, tmp_path: Path) -> None:
    warc = corpus.parent / "corpus.warc.gz"
    data = tmp_path / "data"
    config = BuildConfig(data, warcs=(warc,), workers=1, min_words=5, max_words=60, ray="auto")
    result = build_index(config, DOMAINS)
    assert result.embedded == result.passages  # all computed on the actors: no cache here
    passages, vectors = _contents(data)
    want_passages, want_vectors = _contents(corpus)
    assert passages == want_passages  # the same passage ids, texts and order in page
    assert vectors.keys() == want_vectors.keys()
    assert all(np.allclose(vectors[i], want_vectors[i], atol=1e-5) for i in vectors)


def test_a_ray_address_that_does_not_answer_is_named(tmp_path: Path) -> None:
    config = BuildConfig(tmp_path / "data", warcs=(tmp_path,), ray="127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"no Ray cluster answers at 127\.0\.0\.1:9"):
        build_index(config, DOMAINS)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        build_index(BuildConfig(tmp_path / "data", ray="nowhere"), DOMAINS)
