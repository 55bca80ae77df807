"""The build's embedding stage: every passage's vector, from the cache or computed (on
this machine's best runtime, or on Ray actors), committed as it goes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from .progress import Progress
from .records import Passage, passage_context


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


def embed_passages(
    passages: Sequence[Passage],
    config: EmbedSettings,
    say: Callable[[str], None],
    ray: Any = None,
) -> tuple[Any, dict[str, Any], int]:
    import numpy as np

    from .embed import SentenceEmbedder
    from .embed_backend import Chooser
    from .embed_cache import EmbeddingCache
    from .static_model import STATIC, weights_digest

    embedder = SentenceEmbedder(config.model)
    chooser = Chooser(embedder, config.model, config.embed_backend, config.data_dir / "cache")
    cache = EmbeddingCache(config.data_dir / "cache" / "embeddings", embedder.name, embedder.dim)

    texts = [passage_context(p) for p in passages]
    chosen: list[Any] = []

    def compute(batch: Sequence[str]) -> Any:
        if ray is not None:
            from .ray_build import embed

            chooser.info = {"backend": "torch", "why": "Ray actors"}
            return embed(ray, config.model, batch)
        if not chosen:  # the runtime is picked once, on the whole build's texts
            chosen.append(chooser.pick(texts))
        return chosen[0].encode(batch)

    meter = Progress("embedding passages", len(texts), config.progress)
    batch = 16384 if ray is not None else 256  # a Ray job per batch: fewer, larger ones

    def to_embed(n: int) -> None:  # the meter counts what is left to embed, not the cached
        meter.total = n

    try:
        vecs, computed = cache.get_or_compute(
            texts, compute, batch=batch, progress=meter.done, missing_count=to_embed
        )
    finally:
        cache.close()
        if meter.count:
            meter.close()
    backend = chooser.info["backend"] if computed else "-"
    say(
        f"embedded {computed} new passages ({len(passages) - computed} cached) on "
        f"{embedder.device}" + (f" with {backend} ({chooser.info['why']})" if computed else "")
    )
    ids = np.array([p.id for p in passages], dtype=np.int64)
    meta = {
        "model": embedder.name,
        "dim": embedder.dim,
        "normalized": True,
        "max_tokens": embedder.max_tokens,
        "backend": backend,
        # None: every language; ranking leaves other languages' queries to BM25.
        "languages": embedder.languages,
        "weights": weights_digest(embedder.path) if config.model == STATIC else None,
    }
    return (ids, vecs), meta, computed
