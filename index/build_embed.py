"""The build's embedding stage: every passage's vector, from the cache or computed (on
this machine's best runtime, or on Ray actors), committed as it goes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .progress import Progress
from .records import Passage
from .windows import STRIDE, WORDS, owners, window_texts


class EmbedSettings(Protocol):
    """What embedding needs of a build's config (``BuildConfig`` has it)."""

    @property
    def data_dir(self) -> Path: ...
    @property
    def model(self) -> str | None: ...
    @property
    def embed_backend(self) -> str: ...
    @property
    def progress(self) -> str: ...
    @property
    def windows(self) -> bool: ...


BLOCK = 8192  # passages read, looked up and embedded at a time


def embed_passages(
    passages: Callable[[], Iterator[Passage]],
    count: int,
    config: EmbedSettings,
    say: Callable[[str], None],
    ray: Any = None,
) -> tuple[Vectors, dict[str, Any], int]:
    """Embed what the cache lacks of the ``count`` passages ``passages()`` yields, ``BLOCK``
    at a time, so no list of all their texts is ever held: (their vectors, to be read
    back in passage order; the manifest's embedding entry; how many were computed)."""
    from .embed import SentenceEmbedder
    from .embed_backend import Chooser
    from .embed_cache import EmbeddingCache
    from .static_model import STATIC, weights_digest

    embedder = SentenceEmbedder(config.model)
    chooser = Chooser(embedder, config.model, config.embed_backend, config.data_dir / "cache")
    cache_dir = config.data_dir / "cache" / "embeddings"
    cache = EmbeddingCache(cache_dir, embedder.name, embedder.dim)

    chosen: list[Any] = []
    block: list[str] = []

    def compute(batch: Sequence[str]) -> Any:
        if ray is not None:
            from .ray_build import embed

            chooser.info = {"backend": "torch", "why": "Ray actors"}
            return embed(ray, config.model, batch)
        if not chosen:  # the runtime is picked once, on the first block's texts
            chosen.append(chooser.pick(block))
        return chosen[0].encode(batch)

    meter = Progress("embedding passages", count, config.progress)
    batch = 16384 if ray is not None else 256  # a Ray job per batch: fewer, larger ones
    computed = n = vectors_n = 0
    try:
        for part in _blocks(passages(), BLOCK):
            texts, counts = window_texts(part, config.windows)
            block[:] = texts
            fresh: set[int] = set()
            scaled = _Scaled(meter.done, len(part) / len(texts))  # the meter counts passages
            cache.get_or_compute(texts, compute, batch=batch, progress=scaled, fresh=fresh)
            meter.done(len(part) - scaled.passed)  # the cached ones
            new = len(set(owners(counts)[sorted(fresh)].tolist()))
            computed, n, vectors_n = computed + new, n + len(part), vectors_n + len(texts)
    finally:
        cache.close()
        if meter.count:
            meter.close()
    if n != count:
        raise RuntimeError(f"passages changed while embedding: {n} read, {count} expected")
    backend = chooser.info["backend"] if computed else "-"
    say(
        f"embedded {computed} new passages ({count - computed} cached) on "
        f"{embedder.device}" + (f" with {backend} ({chooser.info['why']})" if computed else "")
    )
    meta = {
        "model": embedder.name,
        "dim": embedder.dim,
        "normalized": True,
        "max_tokens": embedder.max_tokens,
        "backend": backend,
        # None: every language; ranking leaves other languages' queries to BM25.
        "languages": embedder.languages,
        "weights": weights_digest(embedder.path) if config.model == STATIC else None,
        # A vector per window of a passage (index/windows.py), or one of its opening.
        "windows": {"words": WORDS, "stride": STRIDE} if config.windows else None,
    }
    vectors = Vectors(passages, vectors_n, embedder.dim, cache_dir, embedder.name, config.windows)
    return vectors, meta, computed


@dataclass(frozen=True)
class Vectors:
    """The build's vectors, read back from the embedding cache (where embedding left
    every one of them) a block at a time, in passage order: FAISS takes them so, and
    no build holds all its float vectors at once.  With windows, a passage has a vector
    per window, all under its id; ``count`` is the vectors'."""

    passages: Callable[[], Iterator[Passage]]
    count: int
    dim: int
    cache_dir: Path
    model: str
    windows: bool = False

    def blocks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        from .embed_cache import EmbeddingCache

        def lost(texts: Sequence[str]) -> Any:
            raise RuntimeError(f"{len(texts)} vectors left the embedding cache during the build")

        cache = EmbeddingCache(self.cache_dir, self.model, self.dim)
        try:
            for part in _blocks(self.passages(), BLOCK):
                texts, counts = window_texts(part, self.windows)
                vecs, _ = cache.get_or_compute(texts, lost)
                ids = np.fromiter((p.id for p in part), np.int64, len(part))
                yield np.repeat(ids, counts), vecs
        finally:
            cache.close()


class _Scaled:
    """A count of texts passed on as passages: ``ratio`` passages a text, in whole ones."""

    def __init__(self, done: Callable[[int], None], ratio: float) -> None:
        self._done, self._ratio = done, ratio
        self._total = 0.0
        self.passed = 0

    def __call__(self, texts: int) -> None:
        self._total += texts * self._ratio
        step = int(self._total) - self.passed
        self.passed += step
        self._done(step)


def _blocks(items: Iterable[Passage], size: int) -> Iterator[list[Passage]]:
    part: list[Passage] = []
    for item in items:
        part.append(item)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part
