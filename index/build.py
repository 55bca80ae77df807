"""Build a new index version from WARC files and publish it atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stepdr.crawl.domains import DomainSet
from stepdr.crawl.errors import WarcError

from .bm25 import write_bm25
from .chunk import Chunk, chunk_blocks
from .extract import extract
from .records import PageRef, Passage, cite_id, passage_id
from .store import write_store
from .versions import IndexDir, read_manifest, write_manifest
from .warcs import find_warcs, latest_pages, read_html

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildConfig:
    data_dir: Path
    warcs: tuple[Path, ...] = ()  # default: DATA/warc
    min_words: int = 25
    max_words: int = 200
    workers: int = 0  # 0: one per core
    keep: int = 3
    force: bool = False


@dataclass(frozen=True)
class BuildResult:
    version: Path
    pages: int
    passages: int
    failed_pages: int
    skipped: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class _PageText:
    ref: PageRef
    title: str
    lang: str | None
    chunks: tuple[Chunk, ...]


def _extract_one(args: tuple[PageRef, int, int]) -> _PageText | str | None:
    """Worker: read one page from its WARC and chunk it.  Errors come back as text."""
    ref, min_words, max_words = args
    try:
        page = extract(read_html(ref), ref.url)
    except Exception as e:  # one bad page never stops a build
        return f"{ref.url}: {type(e).__name__}: {e}"
    if page is None:
        return None
    chunks = tuple(chunk_blocks(page.blocks, min_words, max_words))
    return _PageText(ref, page.title, page.lang, chunks)


def _map_pages(refs: Sequence[PageRef], config: BuildConfig) -> Iterator[_PageText | str | None]:
    jobs = [(r, config.min_words, config.max_words) for r in refs]
    workers = config.workers or os.cpu_count() or 1
    if workers == 1 or len(jobs) < 16:
        yield from map(_extract_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_extract_one, jobs, chunksize=8)


def _sources(warcs: Sequence[Path]) -> list[dict[str, Any]]:
    out = []
    for w in warcs:
        st = w.stat()
        out.append({"path": str(w.resolve()), "size": st.st_size, "mtime": int(st.st_mtime)})
    return out


def _norm_hash(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()


def _passages(pages: Sequence[_PageText], domains: DomainSet) -> list[Passage]:
    best: dict[str, Passage] = {}
    for page in pages:
        entry = domains.match(page.ref.url)
        host = (urlsplit(page.ref.url).hostname or "").lower()
        for ordinal, ch in enumerate(page.chunks):
            p = Passage(
                id=passage_id(page.ref.url, ordinal),
                cite_id=cite_id(page.ref.url),
                url=page.ref.url,
                domain=entry.domain if entry else host,
                title=page.title,
                headings=ch.headings,
                ordinal=ordinal,
                text=ch.text,
                authority=domains.authority(page.ref.url),
                tier=entry.tier if entry else None,
                fetched=page.ref.fetched,
                lang=page.lang,
            )
            key = _norm_hash(p.text)
            kept = best.get(key)
            # Exact duplicates collapse to one, kept from the most authoritative source.
            if kept is None or p.authority > kept.authority:
                best[key] = p
    return sorted(best.values(), key=lambda p: (p.url, p.ordinal))


def build_index(
    config: BuildConfig, domains: DomainSet, say: Callable[[str], None] = lambda _: None
) -> BuildResult:
    start = time.monotonic()
    index = IndexDir(config.data_dir)
    default_dir = config.data_dir / "warc"
    warcs = (
        find_warcs(config.warcs)
        if config.warcs
        else find_warcs([default_dir] * default_dir.is_dir())
    )
    if not warcs:
        where = ", ".join(map(str, config.warcs)) or str(default_dir)
        raise WarcError(f"no WARC files in {where}: run 'stepdr-index crawl' or pass --warc")
    settings = {"min_words": config.min_words, "max_words": config.max_words}
    sources = _sources(warcs)
    live = index.current_or_none()
    if live is not None and not config.force:
        m = read_manifest(live)
        if m.get("sources") == sources and m.get("config") == settings:
            return BuildResult(live, m["pages"], m["passages"], m["failed_pages"], skipped=True)
    refs = latest_pages(warcs)
    if not refs:
        raise WarcError(f"no HTML pages found in {len(warcs)} WARC file(s)")
    say(f"extracting {len(refs)} pages from {len(warcs)} WARC file(s)")
    pages: list[_PageText] = []
    failed = 0
    for result in _map_pages(refs, config):
        if isinstance(result, str):
            log.warning("extraction failed: %s", result)
            failed += 1
        elif result is not None:
            pages.append(result)
    passages = _passages(pages, domains)
    if not passages:
        raise WarcError(f"no text could be extracted from {len(refs)} pages")
    say(f"indexing {len(passages)} passages from {len(pages)} pages")
    partial = index.new_version()
    n_store = write_store(partial, passages)
    n_bm25 = write_bm25(partial, passages)
    write_manifest(
        partial,
        {
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "pages": len(pages),
            "passages": n_store,
            "bm25_docs": n_bm25,
            "failed_pages": failed,
            "domains_file": domains.source,
            "config": settings,
            "sources": sources,
        },
    )
    version = index.publish(partial)
    index.prune(config.keep)
    return BuildResult(version, len(pages), n_store, failed, seconds=time.monotonic() - start)
