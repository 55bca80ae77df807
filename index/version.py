"""One index version opened for reading: its manifest, passages, BM25 and dense indexes.

``Version.open`` is the one place a version is opened and its counts checked (the store,
BM25 and FAISS must hold as many passages as the manifest says); a version that fails is
never served.  A ``Version`` is what the ranking pipeline retrieves from (it implements
``stepdr.rank.pipeline.Retrieval``); its methods are safe to call from many threads.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stepdr.core.errors import ConfigError, IndexCorruptError, StepdrError

from .bm25 import BM25Index
from .coalesce import SharedEncoder
from .dense import DenseIndex
from .embed import Embedder, model_languages
from .languages import covers
from .records import Passage
from .store import PassageStore
from .versions import read_manifest

WINDOW_FANOUT = 4  # windows of one passage that can come next to each other in a result


def check_counts(version: Path, manifest: dict[str, Any], counts: dict[str, int | None]) -> None:
    """Each part holds what the manifest says: a row per passage, and the dense index the
    vectors the build wrote (one a passage, or one a window with ``--embed-windows``)."""
    expected = manifest["passages"]
    vectors = manifest.get("dense_vectors") or expected
    wrong = {
        k: v
        for k, v in counts.items()
        if v is not None and v != (vectors if k == "dense" else expected)
    }
    if wrong:
        detail = ", ".join(f"{k} {v}" for k, v in wrong.items())
        raise IndexCorruptError(
            f"{version.name}: counts disagree (manifest {expected} passages, {vectors} "
            f"vectors; {detail})"
        )


def load_embedder(name: str, manifest: dict[str, Any]) -> Embedder:
    """The embedding model a version (``name``) was built with, checked against it."""
    from .embed import SentenceEmbedder

    embedder = SentenceEmbedder(manifest["config"].get("model"))
    built = (manifest.get("embedding") or {}).get("weights")
    if built:  # a model distilled here (--model static) must be the build's own
        from .static_model import weights_digest

        if weights_digest(embedder.path) != built:
            raise ConfigError(
                f"{name}: the embedding model {embedder.name} at "
                f"{embedder.path} is not the one this index was built with"
            )
    return embedder


def manifest_languages(manifest: dict[str, Any]) -> tuple[str, ...] | None:
    """The languages a version's embedding model covers (None: every language)."""
    emb = manifest.get("embedding") or {}
    if "languages" in emb:
        langs = emb["languages"]
        return None if langs is None else tuple(langs)
    try:  # a version built before manifests named them: ask the model's card
        return model_languages(manifest["config"].get("model"))
    except StepdrError:
        return None


class Version(SharedEncoder):
    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        store: PassageStore,
        bm25: BM25Index,
        dense: DenseIndex | None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.store = store
        self.bm25 = bm25
        self.dense = dense
        self._embedder: Embedder | None = None
        self._load_lock = threading.Lock()
        self._init_encoder()  # concurrent searches share forward passes (coalesce.py)
        self._store_lock = threading.Lock()  # one SQLite connection, shared

    @classmethod
    def open(cls, path: Path, use_gpu: bool | None = None) -> Version:
        """Open every part and check that the counts agree; IndexCorruptError if not."""
        manifest = read_manifest(path)
        try:
            store = PassageStore(path)
            bm25 = BM25Index(path)
            counts: dict[str, int | None] = {"store": store.count(), "bm25": bm25.count()}
            dense = None
            if emb := manifest.get("embedding"):
                fanout = WINDOW_FANOUT if emb.get("windows") else 1
                dense = DenseIndex(path, use_gpu=use_gpu, fanout=fanout)
                counts["dense"] = dense.count()
        except Exception as e:
            raise IndexCorruptError(f"{path}: cannot open index ({e})") from None
        check_counts(path, manifest, counts)
        return cls(path, manifest, store, bm25, dense)

    def close(self) -> None:
        with self._store_lock:
            self.store.close()

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def embedder(self) -> Embedder:
        """The version's embedding model, loaded on first use."""
        with self._load_lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.name, self.manifest)
            return self._embedder

    # -- Retrieval --------------------------------------------------------------------

    @property
    def has_dense(self) -> bool:
        return self.dense is not None

    @functools.cached_property
    def site_names(self) -> dict[str, list[str]]:
        """Per site, the names a query would use for it (``site_names``)."""
        return dict(self.manifest.get("sites", {}))

    def dense_covers(self, query: str) -> bool:
        """Whether the version's embedding model knows the query's language."""
        return covers(self.dense_languages, query)

    @functools.cached_property
    def dense_languages(self) -> tuple[str, ...] | None:
        return manifest_languages(self.manifest)

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        return self.bm25.search(query, k, boosts)

    def bm25_search_many(
        self, requests: Sequence[tuple[str, Mapping[str, float] | None]], k: int
    ) -> list[list[tuple[int, float]]]:
        return [self.bm25.search(query, k, boosts) for query, boosts in requests]

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """(passage id, cosine) candidates per query; [] per query without a dense index.

        All queries are embedded in one call: per-call overhead dominates short texts.
        """
        if self.dense is None or not queries:
            return [[] for _ in queries]
        return self.dense.search(self.encode_queries(list(queries)), k)

    def _encode(self, texts: list[str]) -> Any:
        return self.embedder.encode(texts)

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        with self._store_lock:
            return self.store.get_many(list(ids))

    # -- pages and statistics ----------------------------------------------------------

    def page(self, urls: Sequence[str]) -> list[Passage]:
        """The passages of the first of ``urls`` the index holds, in order; [] if none."""
        with self._store_lock:
            for url in urls:
                found = self.store.page(url)
                if found:
                    return found
        return []

    def stats(self) -> dict[str, object]:
        with self._store_lock:
            counts: dict[str, object] = dict(self.store.stats())
            counts["tiers"] = self.store.tier_counts()
        counts["version"] = self.name
        counts["built"] = self.manifest.get("built")
        counts["dense"] = self.dense is not None
        counts["embedding_model"] = (self.manifest.get("embedding") or {}).get("model")
        return counts
