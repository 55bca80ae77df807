"""Build a new index version from WARC files and publish it atomically.

Pages are extracted in a process pool (one bad page is logged and counted,
never fatal), turned into de-duplicated passages, written to the passage
store, BM25 and FAISS, checked, and only then published.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepdr.core.errors import WarcError
from stepdr.crawl.domains import DomainSet

from .bm25 import write_bm25
from .build_embed import embed_passages
from .build_extract import extract_all
from .build_stats import STATS_FILE, peak_rss_mb, release_freed_memory, write_build_stats
from .page_cache import PageCache
from .passage_stream import PageSpill, plan_passages
from .records import Passage
from .shards import check_shard, publish_if_complete, shard_dir, shard_of
from .site_names import site_names
from .store import write_store
from .verify import file_checksums, verify_version
from .versions import IndexDir, read_manifest, write_manifest
from .warc_read import find_warcs, read_latest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildConfig:
    data_dir: Path
    warcs: tuple[Path, ...] = ()  # default: DATA/warc
    min_words: int = 40
    max_words: int = 200
    workers: int = 0  # 0: one per core
    keep: int = 3
    force: bool = False
    dense: bool = True
    model: str | None = None  # None: the bundled all-MiniLM-L6-v2
    embed_backend: str = "auto"  # auto | torch | onnx | onnx-int8: see embed_backend.py
    windows: bool = False  # embed all of each passage, not its first 128 tokens (windows.py)
    progress: str = "off"  # auto (a live line on a terminal, else log lines) | tty | log | off
    shard: tuple[int, int] | None = None  # (id, num): build shard id of num (index/shards.py)
    ray: str | None = None  # a Ray head's HOST:PORT, or "auto" (index/ray_build.py)

    @property
    def settings(self) -> dict[str, Any]:
        return {
            # Raised when what a build makes of the same WARCs changes (URL spelling,
            # code blocks), so an up-to-date check never keeps an index of the old kind.
            "pipeline": PIPELINE_VERSION,
            "min_words": self.min_words,
            "max_words": self.max_words,
            "dense": self.dense,
            "model": self.model,
            **({"windows": True} if self.windows else {}),  # absent: as every build before
            "shard": list(self.shard) if self.shard else None,
        }


PIPELINE_VERSION = 6  # 3: about-elsewhere priors in the store; 4: dates from one htmldate pass;
# 5: titles from <title> where trafilatura took a site-wide <h1> or a note box; url in BM25;
# 6: directories of links keep their opening only (index/directories.py)


@dataclass(frozen=True)
class BuildResult:
    version: Path
    pages: int
    passages: int
    failed_pages: int
    skipped: bool = False
    seconds: float = 0.0
    embedded: int = 0
    sharded: Path | None = None  # the sharded version this shard's build completed


def _extraction_key(config: BuildConfig) -> str:
    """What an extracted page depends on besides its URL and body."""
    import trafilatura

    return f"{PIPELINE_VERSION}|{config.min_words}|{config.max_words}|{trafilatura.__version__}"


def _sources(warcs: Sequence[Path]) -> list[dict[str, Any]]:
    out = []
    for w in warcs:
        st = w.stat()
        out.append({"path": str(w.resolve()), "size": st.st_size, "mtime": int(st.st_mtime)})
    return out


def _find_sources(config: BuildConfig) -> list[Path]:
    default_dir = config.data_dir / "warc"
    if config.warcs:
        warcs = find_warcs(config.warcs)
    else:
        warcs = find_warcs([default_dir]) if default_dir.is_dir() else []
    if not warcs:
        where = ", ".join(map(str, config.warcs)) or str(default_dir)
        raise WarcError(f"no WARC files in {where}: run 'stepdr-index crawl' or pass --warc")
    return warcs


def build_index(
    config: BuildConfig, domains: DomainSet, say: Callable[[str], None] = lambda _: None
) -> BuildResult:
    if config.ray is None:
        return _build(config, domains, say)
    from .ray_build import cluster

    with cluster(config.ray) as ray:
        say(f"building on Ray ({config.ray}): {ray.cluster_resources().get('CPU', 0):.0f} CPUs")
        return _build(config, domains, say, ray)


def _build(
    config: BuildConfig, domains: DomainSet, say: Callable[[str], None], ray: Any = None
) -> BuildResult:
    clock = _Clock()
    lap = clock.lap
    if config.shard is not None:
        check_shard(*config.shard)
    shard_data = shard_dir(config.data_dir, *config.shard) if config.shard else config.data_dir
    index = IndexDir(shard_data)
    warcs = _find_sources(config)
    sources = _sources(warcs)
    live = index.current_or_none()
    if live is not None and not config.force:
        m = read_manifest(live)
        if m.get("sources") == sources and m.get("config") == config.settings:
            return BuildResult(live, m["pages"], m["passages"], m["failed_pages"], skipped=True)
    spill = PageSpill(index.root / f"pages-{os.getpid()}.spill")
    try:
        # Each page is in the spill once extraction ends: the table of references goes
        # before the stages whose peaks it would add to.
        with read_latest(warcs, spill.path.with_suffix(".refs"), domains.canonical) as refs:
            pages = len(refs)
            if not pages:
                raise WarcError(f"no HTML or PDF pages found in {len(warcs)} WARC file(s)")
            lap("read_warcs")
            cache = PageCache(config.data_dir / "cache" / "pages.sqlite", _extraction_key(config))
            try:  # what was extracted stays for the next run, whatever happens
                extracted, failed = extract_all(refs, config, cache, spill, say, len(warcs), ray)
            finally:
                cache.close()
        lap("extract")
        got = _Extracted(pages, spill, cache, extracted, failed)
        return _index_passages(config, domains, say, ray, index, sources, got, clock)
    finally:
        spill.close()


class _Clock:
    """The seconds each stage of a build took, and this process's peak RSS by its end
    (where the peak rises says which stage sets it)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.stages: dict[str, float] = {}
        self.peaks: dict[str, float] = {}

    def lap(self, stage: str) -> None:  # the seconds since the last stage ended
        self.stages[stage] = time.monotonic() - self.start - sum(self.stages.values())
        self.peaks[stage] = peak_rss_mb()["process"]


@dataclass(frozen=True)
class _Extracted:
    pages: int  # pages read from the WARCs
    spill: PageSpill
    cache: PageCache
    extracted: int  # pages extracted by this build (the rest came from the cache)
    failed: int


def _index_passages(
    config: BuildConfig,
    domains: DomainSet,
    say: Callable[[str], None],
    ray: Any,
    index: IndexDir,
    sources: list[dict[str, Any]],
    got: _Extracted,
    clock: _Clock,
) -> BuildResult:
    spill, lap, failed = got.spill, clock.lap, got.failed
    keep: Callable[[Passage], bool] | None = None
    if config.shard is not None:
        shard, num = config.shard
        keep = lambda p: shard_of(p.text, num) == shard  # noqa: E731
    plan = plan_passages(spill.pages, domains, keep)
    passages, dropped, n_pages = plan.passages, plan.dropped, spill.count
    if not plan.count:
        raise WarcError(f"no text could be extracted from {got.pages} pages")
    lap("passages")
    say(f"indexing {plan.count} passages from {n_pages} pages")
    dense_meta: dict[str, Any] | None = None
    computed = 0
    vectors = None
    if config.dense:
        vectors, dense_meta, computed = embed_passages(passages, plan.count, config, say, ray)
        release_freed_memory()
        lap("embed")
    partial = index.new_version()
    n_store = write_store(partial, passages())
    lap("store")
    n_bm25 = write_bm25(partial, passages())
    release_freed_memory()
    lap("bm25")
    n_dense = None
    if vectors is not None:
        from .dense import choose_kind, write_dense_blocks

        n_dense = write_dense_blocks(partial, vectors.count, vectors.dim, vectors.blocks)
        if dense_meta is not None:
            dense_meta["index"] = choose_kind(n_dense)
        lap("dense")
    write_manifest(
        partial,
        {
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "pages": n_pages,
            "passages": n_store,
            "bm25_docs": n_bm25,
            "dense_vectors": n_dense,
            "embedding": dense_meta,
            "failed_pages": failed,
            "dropped": dropped,
            "domains_file": domains.source,
            "sites": site_names(domains, plan.sites),
            "config": config.settings,
            "sources": sources,
            "checksums": file_checksums(partial),
        },
    )

    verify_version(partial)  # never publish a version that fails its own checks
    version = index.publish(partial)
    index.prune(config.keep)
    got.cache.prune()  # what this build did not use
    lap("publish")
    seconds = time.monotonic() - clock.start
    extract_s = clock.stages["extract"]
    write_build_stats(
        index.root / STATS_FILE,
        {
            "version": version.name,
            "pages": n_pages,
            "passages": n_store,
            "failed_pages": failed,
            "extracted_pages": got.extracted,
            "cached_pages": got.pages - got.extracted,
            "dropped": dropped,
            "embedded": computed,
            "embedded_cached": (n_store if n_dense is not None else 0) - computed,
            "seconds": round(seconds, 3),
            "stages_s": {k: round(v, 3) for k, v in clock.stages.items()},
            "pages_per_s": round(got.extracted / extract_s, 2) if extract_s else None,
            "passages_per_s": round(n_store / seconds, 2) if seconds else None,
            "peak_rss_mb": peak_rss_mb(),
            "peak_rss_mb_by_stage": clock.peaks,
        },
    )
    sharded = publish_if_complete(config.data_dir, config.shard[1]) if config.shard else None
    return BuildResult(
        version, n_pages, n_store, failed, seconds=seconds, embedded=computed, sharded=sharded
    )
