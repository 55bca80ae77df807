"""Exact title matches: a query that is the name of a page or of a section is asking
for that page or that section.

"ALTER COLLATION" is the title of PostgreSQL's ``sql-altercollation.html``, yet BM25
and the embedding model both put ``sql-dropcollation.html`` first: its "See Also"
names ALTER COLLATION too, in a shorter passage.  A person who types a page's or a
section's name has told us which one they mean, so a passage whose page title or one of
whose headings *is* the query (compared as ``title_key`` spells them: case, punctuation,
section numbers and the description after a dash set aside) has its score multiplied by
``1 + weight`` (``RankConfig.title_match``).  Many pages with the same heading
("Introduction") are all raised alike and keep their order among themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from stepdr.index.records import Passage

from .fuse import sort_key
from .results import Scores

_NON_WORD = re.compile(r"[\W_]+")
_NUMBER = re.compile(r"^(?:(?:[a-z]\.)?\d+(?:\.\d+)*\.?|[ivxlc]+\.)\s+")  # "9.17.", "F.25.", "IV."
_TAIL = re.compile(r"\s+[—–-]\s+|:\s+")  # "functools — Higher-order functions …"
_MAX_CHARS = 200  # longer "titles" are sentences, not names


def title_key(text: str) -> str:
    """``text`` as a name is compared: case-folded, words only, single spaces."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


@lru_cache(maxsize=65536)  # a site's pages share titles and headings
def title_keys(title: str) -> frozenset[str]:
    """The names a title or heading answers to: the whole, without a leading section
    number, and its first part before a dash or colon."""
    if not title or len(title) > _MAX_CHARS:
        return frozenset()
    whole = _NUMBER.sub("", title.strip().casefold())
    keys = {title_key(whole), title_key(_TAIL.split(whole, maxsplit=1)[0])}
    keys.discard("")
    return frozenset(keys)


def names(p: Passage, key: str) -> bool:
    """Whether ``key`` (a ``title_key``) is the name of ``p``'s page or of a section
    that ``p`` is in."""
    return key in title_keys(p.title) or any(key in title_keys(h) for h in p.headings)


def title_match(
    fused: Sequence[tuple[int, Scores]],
    passages: Mapping[int, Passage],
    query: str,
    weight: float,
) -> list[tuple[int, Scores]]:
    """``fused`` with the passages named by ``query`` raised by ``1 + weight``, sorted
    again (ties as ``fuse`` breaks them)."""
    key = title_key(query)
    if weight <= 0 or not key:
        return list(fused)
    out = []
    hit = False
    for pid, s in fused:
        p = passages.get(pid)
        if p is not None and names(p, key):
            hit = True
            out.append((pid, replace(s, title=weight, final=s.final * (1.0 + weight))))
        else:
            out.append((pid, s))
    if hit:
        out.sort(key=sort_key)
    return out
