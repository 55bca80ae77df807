"""The build's passages as a stream: pages spilled to disk, de-duplicated in passes.

A build of millions of passages cannot hold them, or the pages they come from.  So
every page of the build goes once into a spill file (SQLite, in URL order), and the
passes of ``dedup.make_passages`` read it again instead of a list:

1. boilerplate: per site, on how many pages each text occurs (8-byte keys in arrays),
   and quotations: chunks of pages made of text copied from many others (``quotes``);
2. exact duplicates: per text, which copy is kept (the first of the most
   authoritative ones, in URL order), by sorting the keys;
3. near duplicates: the SimHash of every kept passage, in an array (``near_dup``);

and then ``PassagePlan.passages()`` yields the passages to index, in (URL, ordinal)
order, as often as a writer asks.  What stays in memory is about 25 bytes per
passage, never its text.  The result is ``make_passages``'s, passage for passage.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stepdr.crawl.domains import DomainSet

from .dedup import (
    BOILERPLATE_MIN_PAGES,
    BOILERPLATE_SHARE,
    PageText,
    page_passage,
    simhash,
    site_of,
)
from .near_dup import near_duplicates
from .page_cache import decode_page, encode_page
from .quotes import QuoteFinder
from .records import PageRef, Passage, same_text_key


class PageSpill:
    """This build's pages on disk, read back in URL order as often as needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob("*.spill"):  # a killed build's: one build at a time
            stale.unlink(missing_ok=True)
        self._con = sqlite3.connect(path)
        self._con.execute("CREATE TABLE page (url TEXT PRIMARY KEY, ref TEXT, value TEXT)")
        self._pending: list[tuple[str, str, str]] = []
        self.count = 0

    def add(self, page: PageText) -> None:
        self.add_encoded(page.ref, encode_page(page))

    def add_encoded(self, r: PageRef, value: str) -> None:
        """A page as ``encode_page`` wrote it; one without text ("null") is left out."""
        if value == "null":
            return
        ref = json.dumps([r.warc, r.offset, r.fetched, r.digest])
        self._pending.append((r.url, ref, value))
        self.count += 1
        if len(self._pending) >= 512:
            self.flush()

    def flush(self) -> None:
        with self._con:
            self._con.executemany("INSERT OR REPLACE INTO page VALUES (?, ?, ?)", self._pending)
        self._pending = []

    def pages(self) -> Iterator[PageText]:
        self.flush()
        con = sqlite3.connect(self.path)
        try:
            for url, ref, value in con.execute("SELECT url, ref, value FROM page ORDER BY url"):
                warc, offset, fetched, digest = json.loads(ref)
                page = decode_page(PageRef(url, warc, offset, fetched, digest), value)
                if page is not None:
                    yield page
        finally:
            con.close()

    def close(self) -> None:
        self._con.close()
        self.path.unlink(missing_ok=True)


def _key(*parts: str) -> int:
    """8 bytes of a hash: a million distinct texts in 8 MB, collisions never met."""
    return int.from_bytes(hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest())


@dataclass
class PassagePlan:
    """What the passes decided; ``passages()`` yields the result as often as asked."""

    pages: Callable[[], Iterator[PageText]]
    domains: DomainSet
    keep: Callable[[Passage], bool] | None = None  # e.g. this shard's passages only
    indexed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # per chunk
    dropped: dict[str, int] = field(default_factory=dict)
    sites: tuple[str, ...] = ()  # the site of every page read, passages kept or not
    count: int = 0  # passages passages() yields

    def _chunks(self) -> Iterator[tuple[int, PageText, int]]:
        """(chunk number in the corpus, page, ordinal) of every chunk, in corpus order."""
        seq = 0
        for page in self.pages():
            for ordinal in range(len(page.chunks)):
                yield seq, page, ordinal
                seq += 1

    def passages(self) -> Iterator[Passage]:
        indexed = self.indexed
        for seq, page, ordinal in self._chunks():
            if indexed[seq]:
                p = page_passage(self.domains, page, ordinal)
                if self.keep is None or self.keep(p):
                    yield p


def plan_passages(
    pages: Callable[[], Iterator[PageText]],
    domains: DomainSet,
    keep: Callable[[Passage], bool] | None = None,
) -> PassagePlan:
    """Decide every chunk's fate in two reads of ``pages()`` (URL order): the first hashes
    each chunk once, the second takes the SimHash of the texts still kept."""
    plan = PassagePlan(pages, domains, keep)
    keys, quotes = _Keys(), QuoteFinder()
    for page in pages():
        keys.add(page, site_of(domains, page.ref.url), domains.authority(page.ref.url))
        quotes.add_page([ch.text for ch in page.chunks])
    text_key, authority = keys.array(keys.text), keys.array(keys.authority, np.float64)
    boiler = keys.boilerplate()
    plan.sites = tuple(keys.sites)
    quoted = quotes.quoted() & ~boiler
    del quotes
    n = len(text_key)
    # Exact duplicates: of each text, the first of its most authoritative copies that
    # is neither boilerplate nor a quotation.
    order = np.lexsort((np.arange(n), -authority, text_key))
    order = order[~(boiler | quoted)[order]]
    winner = np.zeros(n, dtype=bool)
    if len(order):
        firsts = np.ones(len(order), dtype=bool)
        firsts[1:] = text_key[order[1:]] != text_key[order[:-1]]
        winner[order[firsts]] = True
    del keys, text_key, order
    hashes = array("Q")
    for seq, page, ordinal in plan._chunks():
        if winner[seq]:
            hashes.append(simhash(page.chunks[ordinal].text))
    unique = np.flatnonzero(winner)
    near = near_duplicates(np.frombuffer(hashes, dtype=np.uint64), authority[unique])
    winner[unique[near]] = False
    plan.indexed = winner
    plan.dropped = {
        "boilerplate": int(boiler.sum()),
        "quoted": int(quoted.sum()),
        "exact_duplicates": n - int(boiler.sum()) - int(quoted.sum()) - len(unique),
        "near_duplicates": len(near),
    }
    plan.count = int(winner.sum()) if keep is None else sum(1 for _ in plan.passages())
    return plan


class _Keys:
    """Per chunk, in corpus order: its text's key, its (site, text) key and authority;
    per page, its site and the distinct site keys on it."""

    def __init__(self) -> None:
        self.text, self.site_text, self.authority = array("Q"), array("Q"), array("d")
        self.page_keys, self.page_site = array("Q"), array("q")
        self.sites: dict[str, int] = {}
        self.pages_per_site: Counter[int] = Counter()

    def add(self, page: PageText, site: str, authority: float) -> None:
        site_id = self.sites.setdefault(site, len(self.sites))
        self.pages_per_site[site_id] += 1
        same = [same_text_key(ch.text) for ch in page.chunks]
        on_page = [_key(site, k) for k in same]
        self.text.extend(_key(k) for k in same)
        self.site_text.extend(on_page)
        self.authority.extend([authority] * len(same))
        distinct = set(on_page)  # a page counts once for each text on it
        self.page_keys.extend(distinct)
        self.page_site.extend([site_id] * len(distinct))

    @staticmethod
    def array(values: array, dtype: type = np.uint64) -> np.ndarray:  # type: ignore[type-arg]
        return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype)

    def boilerplate(self) -> np.ndarray:
        """Per chunk: is it a text on many pages of its site (a footer, a notice)."""
        keys = self.array(self.page_keys)
        found, first, pages_with = np.unique(keys, return_index=True, return_counts=True)
        per_site = np.array([self.pages_per_site[i] for i in range(len(self.sites))], float)
        need = np.maximum(BOILERPLATE_MIN_PAGES, BOILERPLATE_SHARE * per_site)
        site_ids = self.array(self.page_site, np.int64)[first]
        boiler = found[pages_with >= need[site_ids]] if len(found) else found
        return np.isin(self.array(self.site_text), boiler)
