"""From extracted pages to the passages of an index: ids, authority, de-duplication.

Three passes, in this order:
1. Site boilerplate: text repeated on many pages of one site (footers, notices
   that survive extraction) is dropped everywhere on that site.
   Quotations: on pages made of text copied from many others (``quotes``), the
   copies are dropped; the pages they were copied from keep the text.
2. Exact duplicates (same normalised text) collapse to one passage, kept from
   the most authoritative source.
3. Near duplicates (64-bit SimHash of word 3-shingles within ``NEAR_BITS`` bits)
   collapse the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from stepdr.crawl.domains import Domain, DomainSet

from .chunk import Chunk
from .quotes import QuoteFinder, word_hashes
from .records import PageRef, Passage, cite_id, passage_id, same_text_key

NEAR_BITS = 3
BOILERPLATE_MIN_PAGES = 3
BOILERPLATE_SHARE = 0.1


@dataclass(frozen=True)
class PageText:
    ref: PageRef
    title: str
    lang: str | None
    published: str | None
    chunks: tuple[Chunk, ...]


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)


def simhash(text: str) -> int:
    """64-bit SimHash of the text's word 3-shingles.  A shingle's hash combines its
    words' (cached) hashes and goes through splitmix64's finaliser, all in numpy: a
    blake2b per shingle cost most of a build's de-duplication time.  Deterministic
    across processes, as shards built apart must agree."""
    h = word_hashes(text)
    if len(h) >= 3:
        x = h[:-2] * _MIX[0] + h[1:-1] * _MIX[1] + h[2:] * _MIX[2]
    else:  # one shingle of all the words there are
        x = (h * _MIX[: len(h)]).sum(dtype=np.uint64, keepdims=True)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    votes = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=0)
    return int(np.packbits(votes * 2 > len(x)).view(np.uint64)[0])


def _near_duplicates(passages: Sequence[Passage]) -> set[int]:
    """Ids of passages that are near copies of a more authoritative (or earlier) one."""
    ranked = sorted(range(len(passages)), key=lambda i: -passages[i].authority)
    hashes = {i: simhash(passages[i].text) for i in ranked}
    bands: dict[tuple[int, int], list[int]] = defaultdict(list)
    dropped: set[int] = set()
    for i in ranked:
        h = hashes[i]
        keys = [(b, h >> (16 * b) & 0xFFFF) for b in range(4)]  # pigeonhole: 4 bands
        if any(bin(h ^ hashes[j]).count("1") <= NEAR_BITS for k in keys for j in bands.get(k, ())):
            dropped.add(passages[i].id)
            continue
        for k in keys:
            bands[k].append(i)
    return dropped


def _boilerplate(pages: Sequence[PageText], sites: dict[str, str]) -> set[tuple[str, str]]:
    pages_per_site: dict[str, int] = defaultdict(int)
    seen_on: dict[tuple[str, str], set[str]] = defaultdict(set)
    for page in pages:
        site = sites[page.ref.url]
        pages_per_site[site] += 1
        for ch in page.chunks:
            seen_on[(site, same_text_key(ch.text))].add(page.ref.url)
    return {
        key
        for key, urls in seen_on.items()
        if len(urls) >= max(BOILERPLATE_MIN_PAGES, BOILERPLATE_SHARE * pages_per_site[key[0]])
    }


def site_of(domains: DomainSet, url: str) -> str:
    """The site a page belongs to: its list entry's domain, else its host."""
    return _site(domains.match(url), url)


def _site(entry: Domain | None, url: str) -> str:
    return entry.domain if entry else (urlsplit(url).hostname or "")


def page_passage(domains: DomainSet, page: PageText, ordinal: int) -> Passage:
    """The ``ordinal``-th chunk of ``page`` as a passage, with its source's authority."""
    url, ch = page.ref.url, page.chunks[ordinal]
    entry = domains.match(url)
    return Passage(
        id=passage_id(url, ordinal),
        cite_id=cite_id(url),
        url=url,
        domain=_site(entry, url),
        title=page.title,
        headings=ch.headings,
        ordinal=ordinal,
        text=ch.text,
        authority=domains.authority(url),
        tier=entry.tier if entry else None,
        fetched=page.ref.fetched,
        published=page.published,
        lang=page.lang,
        about=entry.about if entry else (),
        authority_elsewhere=entry.authority_elsewhere if entry and entry.about else None,
    )


def make_passages(
    pages: Iterable[PageText], domains: DomainSet
) -> tuple[list[Passage], dict[str, int]]:
    """The passages to index, and counts of what each pass dropped.  All in memory: the
    build streams the same passes (``passage_stream``); this is their reference."""
    pages = list(pages)
    sites = {page.ref.url: site_of(domains, page.ref.url) for page in pages}
    boiler = _boilerplate(pages, sites)
    finder = QuoteFinder()
    for page in pages:
        finder.add_page([ch.text for ch in page.chunks])
    quoted = iter(finder.quoted().tolist())
    best: dict[str, Passage] = {}
    dropped = {"boilerplate": 0, "quoted": 0, "exact_duplicates": 0, "near_duplicates": 0}
    for page in pages:
        site = sites[page.ref.url]
        for ordinal, ch in enumerate(page.chunks):
            key = same_text_key(ch.text)
            copy = next(quoted)
            if (site, key) in boiler:
                dropped["boilerplate"] += 1
                continue
            if copy:
                dropped["quoted"] += 1
                continue
            p = page_passage(domains, page, ordinal)
            kept = best.get(key)
            if kept is not None:
                dropped["exact_duplicates"] += 1
            if kept is None or p.authority > kept.authority:
                best[key] = p
    unique = sorted(best.values(), key=lambda p: (p.url, p.ordinal))
    near = _near_duplicates(unique)
    dropped["near_duplicates"] = len(near)
    return [p for p in unique if p.id not in near], dropped
