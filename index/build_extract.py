"""A build's extraction stage: each page read from its WARC, extracted and chunked, in
worker processes (or Ray tasks), into the spill; pages the page cache holds are not
extracted again."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from stepdr.core.processes import die_with_parent

from .chunk import chunk_blocks
from .dedup import PageText
from .extract import extract
from .page_cache import PageCache, encode_page
from .passage_stream import PageSpill
from .pdf import extract_pdf, is_pdf
from .progress import Progress
from .records import PageRef
from .ref_table import RefTable
from .warc_read import read_html
from .windowed import each, windowed

log = logging.getLogger(__name__)


class ExtractSettings(Protocol):
    """What extraction needs of a build's config (``BuildConfig`` has it)."""

    @property
    def min_words(self) -> int: ...
    @property
    def max_words(self) -> int: ...
    @property
    def workers(self) -> int: ...
    @property
    def progress(self) -> str: ...


def _extract_one(args: tuple[PageRef, int, int]) -> tuple[bool, str]:
    """Worker: read one page from its WARC and chunk it: (True, the page as the page
    cache stores it, encoded here, in parallel) or (False, what went wrong)."""
    ref, min_words, max_words = args
    try:
        body = read_html(ref)
        page = extract_pdf(body, ref.url) if is_pdf(body) else extract(body, ref.url)
    except Exception as e:  # one bad page never stops a build
        return False, f"{ref.url}: {type(e).__name__}: {e}"
    if page is None:
        return True, encode_page(None)
    chunks = tuple(chunk_blocks(page.blocks, min_words, max_words))
    return True, encode_page(PageText(ref, page.title, page.lang, page.published, chunks))


def _map_pages(
    refs: Iterable[PageRef], count: int, config: ExtractSettings, ray: Any = None
) -> Iterator[tuple[bool, str]]:
    jobs = ((r, config.min_words, config.max_words) for r in refs)
    if ray is not None:
        from .ray_build import map_pages

        yield from map_pages(ray, _extract_one, jobs)
        return
    workers = config.workers or os.cpu_count() or 1
    if workers == 1 or count < 16:
        yield from map(_extract_one, jobs)
        return
    # Workers are this process's own children (fork, else spawn; never a fork server,
    # whose children outlive us), and die with it however it ends.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:

        def submit(part: list[tuple[PageRef, int, int]]) -> Future[list[tuple[bool, str]]]:
            return pool.submit(each, _extract_one, part)

        yield from windowed(submit, Future.result, jobs, chunk=8, window=4 * workers)


def extract_all(
    refs: RefTable,
    config: ExtractSettings,
    cache: PageCache,
    spill: PageSpill,
    say: Callable[[str], None],
    warcs: int,
    ray: Any = None,
) -> tuple[int, int]:
    """Every page's text, from the cache or extracted now, into ``spill``: (pages
    extracted now, pages whose extraction failed).  Read a block at a time; the pages
    to extract are marked in ``refs``, so no list of them is held."""
    unchanged = 0
    for part in refs.blocks():
        cached = cache.get_encoded(part)
        unchanged += len(cached)
        for ref in part:
            if ref.url in cached:
                spill.add_encoded(ref, cached[ref.url])
        refs.mark_todo(r.url for r in part if r.url not in cached)
    todo = refs.count_todo()
    say(
        f"extracting {todo} pages from {warcs} WARC file(s)"
        + (f" ({unchanged} unchanged, from the page cache)" if unchanged else "")
    )
    failed = 0
    meter = Progress("extracting pages", todo, config.progress)
    # Two readings of the same rows in the same order: one feeds the workers, which run
    # a window ahead, the other pairs each answer with its page.
    results = _map_pages(refs.todo(), todo, config, ray)
    for ref, (ok, result) in zip(refs.todo(), results, strict=True):
        meter.done()
        if not ok:
            log.warning("extraction failed: %s", result)
            failed += 1
            continue
        cache.put_encoded(ref, result)
        spill.add_encoded(ref, result)
    meter.close()
    return todo, failed
