"""The build's passages as a stream: pages spilled to disk, de-duplicated in passes.

A build of millions of passages cannot hold them, or the pages they come from.  So
every page of the build goes once into a spill file (SQLite, in URL order), and the
passes of ``dedup.make_passages`` read it again instead of a list:

1. boilerplate: per site, on how many pages each text occurs (8-byte keys in arrays);
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
from urllib.parse import urlsplit

import numpy as np

from stepdr.crawl.domains import DomainSet

from .dedup import BOILERPLATE_MIN_PAGES, BOILERPLATE_SHARE, PageText, simhash
from .near_dup import near_duplicates
from .page_cache import decode_page, encode_page
from .records import PageRef, Passage, cite_id, passage_id, same_text_key


def _key(text: str) -> int:
    """``same_text_key`` in 8 bytes: a million distinct texts in a few tens of MB."""
    return int.from_bytes(hashlib.blake2b(same_text_key(text).encode(), digest_size=8).digest())


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
        r = page.ref
        ref = json.dumps([r.warc, r.offset, r.fetched, r.digest])
        self._pending.append((r.url, ref, encode_page(page)))
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


def _site_key(site: str, text: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{site}\0{same_text_key(text)}".encode(), digest_size=8).digest()
    )


@dataclass
class PassagePlan:
    """What the passes decided; ``passages()`` yields the result as often as asked."""

    pages: Callable[[], Iterator[PageText]]
    domains: DomainSet
    keep: Callable[[Passage], bool] | None = None  # e.g. this shard's passages only
    boiler: set[int] = field(default_factory=set)  # site keys of boilerplate texts
    indexed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    dropped: dict[str, int] = field(default_factory=dict)
    count: int = 0  # passages passages() yields

    def _site(self, url: str) -> str:
        entry = self.domains.match(url)
        return entry.domain if entry else (urlsplit(url).hostname or "")

    def _candidates(self) -> Iterator[tuple[PageText, str, list[int]]]:
        """Each page, its site and the ordinals of its chunks that are no boilerplate."""
        for page in self.pages():
            site = self._site(page.ref.url)
            ordinals = [
                i
                for i, ch in enumerate(page.chunks)
                if not self.boiler or _site_key(site, ch.text) not in self.boiler
            ]
            yield page, site, ordinals

    def _passage(self, page: PageText, ordinal: int, site: str) -> Passage:
        url, ch = page.ref.url, page.chunks[ordinal]
        entry = self.domains.match(url)
        return Passage(
            id=passage_id(url, ordinal),
            cite_id=cite_id(url),
            url=url,
            domain=site,
            title=page.title,
            headings=ch.headings,
            ordinal=ordinal,
            text=ch.text,
            authority=self.domains.authority(url),
            tier=entry.tier if entry else None,
            fetched=page.ref.fetched,
            published=page.published,
            lang=page.lang,
            about=entry.about if entry else (),
            authority_elsewhere=entry.authority_elsewhere if entry and entry.about else None,
        )

    def passages(self) -> Iterator[Passage]:
        seq = 0
        for page, site, ordinals in self._candidates():
            for ordinal in ordinals:
                if self.indexed[seq]:
                    p = self._passage(page, ordinal, site)
                    if self.keep is None or self.keep(p):
                        yield p
                seq += 1


def plan_passages(
    pages: Callable[[], Iterator[PageText]],
    domains: DomainSet,
    keep: Callable[[Passage], bool] | None = None,
) -> PassagePlan:
    """Run the three passes over ``pages()`` (called once per pass, URL order)."""
    plan = PassagePlan(pages, domains, keep)
    plan.boiler, boiler_chunks = _boilerplate(plan)
    keys, authority = array("Q"), array("d")
    for page, _, ordinals in plan._candidates():
        keys.extend(_key(page.chunks[i].text) for i in ordinals)
        authority.extend([domains.authority(page.ref.url)] * len(ordinals))
    key_arr = np.frombuffer(keys, dtype=np.uint64)
    auth_arr = np.frombuffer(authority, dtype=np.float64)
    del keys, authority
    n = len(key_arr)
    # Exact duplicates: of each text, the first of its most authoritative copies.
    order = np.lexsort((np.arange(n), -auth_arr, key_arr))
    winner = np.zeros(n, dtype=bool)
    if n:
        firsts = np.ones(n, dtype=bool)
        firsts[1:] = key_arr[order[1:]] != key_arr[order[:-1]]
        winner[order[firsts]] = True
    unique = np.flatnonzero(winner)
    hashes, seq = array("Q"), 0
    for page, _, ordinals in plan._candidates():
        for j, i in enumerate(ordinals, seq):
            if winner[j]:
                hashes.append(simhash(page.chunks[i].text))
        seq += len(ordinals)
    near = near_duplicates(np.frombuffer(hashes, dtype=np.uint64), auth_arr[unique])
    winner[unique[near]] = False
    plan.indexed = winner
    plan.dropped = {
        "boilerplate": boiler_chunks,
        "exact_duplicates": n - len(unique),
        "near_duplicates": len(near),
    }
    plan.count = int(winner.sum()) if keep is None else sum(1 for _ in plan.passages())
    return plan


def _boilerplate(plan: PassagePlan) -> tuple[set[int], int]:
    """Site keys of texts on many pages of their site, and how many chunks they are."""
    site_keys, site_ids, chunk_keys = array("Q"), array("q"), array("Q")
    sites: dict[str, int] = {}
    pages_per_site: Counter[int] = Counter()
    for page in plan.pages():
        site = sites.setdefault(plan._site(page.ref.url), len(sites))
        pages_per_site[site] += 1
        name = plan._site(page.ref.url)
        on_page = [_site_key(name, ch.text) for ch in page.chunks]
        chunk_keys.extend(on_page)
        for k in set(on_page):  # once per page
            site_keys.append(k)
            site_ids.append(site)
    keys = np.frombuffer(site_keys, dtype=np.uint64)
    found, first, pages_with = np.unique(keys, return_index=True, return_counts=True)
    per_site = np.array([pages_per_site[i] for i in range(len(sites))], dtype=np.float64)
    need = np.maximum(BOILERPLATE_MIN_PAGES, BOILERPLATE_SHARE * per_site)
    site_of = np.frombuffer(site_ids, dtype=np.int64)[first] if len(first) else first
    boiler = found[pages_with >= need[site_of]] if len(found) else found
    chunks = np.frombuffer(chunk_keys, dtype=np.uint64)
    return set(boiler.tolist()), int(np.isin(chunks, boiler).sum())
