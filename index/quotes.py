"""Pages that quote many others: their copies dropped, the text kept where it was written.

Some pages are made of sentences lifted from the rest of their site: SQLite's
``requirements.html`` lists 3,481 requirements, each a sentence of another page with a
link to it; all-in-one pages (``capi3ref.html``) and digests do the same.  Each copy is
short and says one thing, so BM25 prefers it to the page it came from, and the copies
filled the head of result lists for SQLite's own names and questions alike.  Exact and
near-duplicate passes miss them: a copy is one sentence of a longer paragraph.

So the build looks for contained text.  Every chunk's word 8-shingles are hashed, and
one in ``SAMPLE`` is kept, chosen by its hash: a sentence and the paragraph it was taken
from keep the same shingles (content-defined sampling, as in winnowing).  A page is a
compilation when it shares kept shingles with at least ``PARTNERS`` other pages and at
least ``PAGE_SHARE`` of its chunks are copies (``SHARE`` of a chunk's kept shingles on
another page); its copies are dropped, as duplicates are.  A page quoted by a
compilation shares with one page and is left alone, as is a page that shares a few
paragraphs with many (a release note, a builtins page).  Shingles found on more than
``MAX_PAGES`` pages (boilerplate, licence text) prove nothing and are ignored.  About
12 bytes per kept shingle (one word in eight: some 100 bytes a passage) stay in memory,
never text.
"""

from __future__ import annotations

import hashlib
from array import array
from functools import lru_cache

import numpy as np

from .records import tokens

SHINGLE = 8  # words: long enough that a shared one is copied text, not a phrase
SAMPLE = 8  # one shingle in SAMPLE is kept
PARTNERS = 20  # other pages a compilation shares text with
MAX_PAGES = 4  # a shingle on more pages than this is boilerplate, not a quotation
SHARE = 0.3  # of a chunk's kept shingles found elsewhere, for it to be a copy: a quote
# carries its tag and link ("R-00013 ... (source: uri.html)"), and short ones keep few
PAGE_SHARE = 0.3  # of a compilation's chunks that are copies (some copies go unsampled)


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")


def word_hashes(text: str) -> np.ndarray:
    """The (cached) 64-bit hash of each word of ``text``; one of "" when it has none."""
    words = tokens(text) or [""]
    return np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))


_MIX = np.arange(1, SHINGLE + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def _shingles(h: np.ndarray) -> np.ndarray:
    """The hash of every run of ``SHINGLE`` words in ``h`` (word hashes), in order."""
    windows = np.lib.stride_tricks.sliding_window_view(h, SHINGLE)
    x = (windows * _MIX).sum(axis=1, dtype=np.uint64)
    x = (x ^ (x >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    out: np.ndarray = x ^ (x >> np.uint64(29))
    return out


def shingle_keys(text: str) -> np.ndarray:
    """The kept shingle hashes of ``text`` (uint64); deterministic across processes."""
    h = word_hashes(text)
    if len(h) < SHINGLE:
        return np.zeros(0, dtype=np.uint64)
    x = _shingles(h)
    kept: np.ndarray = x[x % np.uint64(SAMPLE) == 0]
    return kept


class QuoteFinder:
    """Fed every chunk of a build in corpus order, one page after another; ``quoted()``
    then says, per chunk, whether it is a copy on a compilation page."""

    def __init__(self) -> None:
        self._keys = array("Q")
        self._chunk = array("i")  # chunk number of each key
        self._page_of_chunk = array("i")
        self.pages = 0

    def add_page(self, texts: list[str]) -> None:
        """``shingle_keys`` of each text, distinct per chunk; one numpy pass a page."""
        first = len(self._page_of_chunk)
        self._page_of_chunk.extend([self.pages] * len(texts))
        self.pages += 1
        hashes = [word_hashes(t) for t in texts]
        lengths = np.array([len(h) for h in hashes], dtype=np.int64)
        words = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
        if len(words) < SHINGLE:
            return
        x = _shingles(words)
        where = np.arange(len(x))
        chunk = np.repeat(np.arange(len(texts)), lengths)[: len(x)]
        ends = np.cumsum(lengths)[chunk]  # a shingle must end inside its own chunk
        keep = (where + SHINGLE <= ends) & (x % np.uint64(SAMPLE) == 0)
        keys, chunk = x[keep], chunk[keep]
        order = np.lexsort((keys, chunk))
        keys, chunk = keys[order], chunk[order]
        distinct = np.ones(len(keys), dtype=bool)
        distinct[1:] = (keys[1:] != keys[:-1]) | (chunk[1:] != chunk[:-1])
        self._keys.frombytes(keys[distinct].tobytes())
        self._chunk.frombytes((chunk[distinct] + first).astype(np.int32).tobytes())

    def quoted(self) -> np.ndarray:
        n = len(self._page_of_chunk)
        out = np.zeros(n, dtype=bool)
        if not len(self._keys):
            return out
        keys = np.frombuffer(self._keys, dtype=np.uint64)
        chunk = np.frombuffer(self._chunk, dtype=np.int32)
        page = np.frombuffer(self._page_of_chunk, dtype=np.int32).astype(np.int64)[chunk]
        # Distinct (key, page) pairs, grouped by key.
        order = np.lexsort((page, keys))
        k, p = keys[order], page[order]
        first = np.ones(len(k), dtype=bool)
        first[1:] = (k[1:] != k[:-1]) | (p[1:] != p[:-1])
        k, p = k[first], p[first]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        sizes = np.diff(np.r_[starts, len(k)])
        group = np.repeat(np.arange(len(starts)), sizes)
        usable = (sizes >= 2) & (sizes <= MAX_PAGES)
        # Page pairs that share a usable key (within a group, every later member).
        a_parts, b_parts = [], []
        for d in range(1, MAX_PAGES):
            i = np.flatnonzero(usable[group[:-d]] & (group[d:] == group[:-d]))
            a_parts.append(p[i])
            b_parts.append(p[i + d])
        a, b = np.concatenate(a_parts), np.concatenate(b_parts)
        pairs = np.unique(np.concatenate([a * self.pages + b, b * self.pages + a]))
        partners = np.bincount(pairs // self.pages, minlength=self.pages)
        compilation = partners >= PARTNERS
        if not compilation.any():
            return out
        # Per chunk of a compilation: the share of its keys found on another page.
        shared = usable[np.searchsorted(k[starts], keys)]
        on_compilation = compilation[page]
        total = np.bincount(chunk[on_compilation], minlength=n)
        hits = np.bincount(chunk[on_compilation & shared], minlength=n)
        copy = (total > 0) & (hits >= SHARE * total)
        # A compilation is made of copies: a page that shares a few paragraphs with
        # many others (a release note, a builtins page) keeps them.
        pages = np.frombuffer(self._page_of_chunk, dtype=np.int32)
        copies = np.bincount(pages[copy], minlength=self.pages)
        made_of_copies = copies >= PAGE_SHARE * np.bincount(pages, minlength=self.pages)
        quoted: np.ndarray = copy & made_of_copies[pages]
        return quoted
