"""The authority stage: how a page's prior moves it within a ranked list.

The prior itself (0..1 per page) comes from the domains model
(``stepdr.crawl.authority``) and is stored with every passage at build time.
Here it becomes a multiplicative factor on *relative* relevance:

    π(p) = 1 − β + β · authority(p)          β = ``authority_weight`` (default 0.3)

With β = 0.3 the factors are 1.0 (tier 1), 0.94 (tier 2), 0.88 (tier 3),
0.82 (tier 4) and 0.76 (unlisted pages).  Read as a margin: a tier-4 passage
outranks a tier-1 passage only when it is at least 1/0.82 ≈ 22 % more relevant,
an unlisted one when it is 32 % more.  Comparable matches go to the stronger
source; a clearly better match from a weaker source still wins.  β = 0 turns
the stage off; β = 1 makes authority proportional (an unlisted page needs 5×).

A query that names sites ("How do I write a recursive query in SQLite?") is about
them: a passage of any other site has its prior scaled by ``named_site_factor`` (0.5:
a tier-1 page's factor becomes 0.85), so Python's ``sqlite3`` module or PostgreSQL's
``WITH`` no longer outrank SQLite's page on comparable matches.  On the full mirrors
this took docs-nl from 0.630 to 0.640 MRR@10 and changed no known-item set by more than
0.002.  The names are the build's (``index.site_names``).

A source that is primary only about itself (``about:`` in domains.yaml: a company's
documentation, a lab's posts) keeps its prior on a query that names it, and gets
the lower prior stored beside it (tier 3's at most) on any other query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from stepdr.index.records import Passage


def names_any(query: str, names: Iterable[str]) -> bool:
    """Whether ``query`` names one of ``names``: as a whole word for Latin script, as a
    substring for Chinese (which has no spaces between words)."""
    q = query.casefold()
    for name in names:
        n = name.casefold()
        if not n:
            continue
        if n.isascii():
            if re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", q):
                return True
        elif n in q:
            return True
    return False


class SiteMatcher:
    """The sites a query names ("... in SQLite?"), by the names the build recorded; each
    site's names are matched as ``names_any`` matches them, compiled once."""

    def __init__(self, site_names: Iterable[tuple[str, Sequence[str]]]) -> None:
        self._sites: list[tuple[str, re.Pattern[str] | None, tuple[str, ...]]] = []
        for site, names in site_names:
            folded = [n.casefold() for n in names if n]
            words = [re.escape(n) for n in folded if n.isascii()]
            pattern = re.compile(rf"(?<![\w])(?:{'|'.join(words)})(?![\w])") if words else None
            self._sites.append((site, pattern, tuple(n for n in folded if not n.isascii())))

    def named(self, query: str) -> frozenset[str]:
        q = query.casefold()
        return frozenset(
            site
            for site, pattern, parts in self._sites
            if (pattern is not None and pattern.search(q)) or any(n in q for n in parts)
        )


@lru_cache(maxsize=16)
def _matcher(items: tuple[tuple[str, tuple[str, ...]], ...]) -> SiteMatcher:
    return SiteMatcher(items)


def site_matcher(site_names: Mapping[str, Sequence[str]]) -> SiteMatcher:
    """The matcher of an index's site names, built once per set of names: a regex per
    name and query would recompile past ``re``'s cache at the list's 1,254 sites."""
    return _matcher(tuple((site, tuple(names)) for site, names in sorted(site_names.items())))


def query_authority(
    p: Passage, query: str, named: frozenset[str] = frozenset(), elsewhere: float = 1.0
) -> float:
    """The prior of ``p`` for ``query``: its own, or its about-elsewhere prior when it is
    primary only about names the query does not mention; times ``elsewhere`` when the
    query names sites (``named``) and ``p`` is on none of them."""
    if not p.about or p.authority_elsewhere is None or names_any(query, p.about):
        a = p.authority
    else:
        a = p.authority_elsewhere
    return a * elsewhere if named and p.domain not in named else a


def prior_factor(authority: float, weight: float) -> float:
    """π = 1 − β + β·authority, with authority clamped to [0, 1]."""
    return 1.0 - weight + weight * min(1.0, max(0.0, authority))


def relative(scores: Sequence[float]) -> list[float]:
    """Each score over the best one, in [0, 1]; all zero when nothing scored above zero.

    BM25 scores and cosines are both zero for "unrelated", so a ratio to the best
    candidate of the same query reads as "how relevant, compared with the best".
    """
    top = max(scores, default=0.0)
    if top <= 0.0:
        return [0.0 for _ in scores]
    return [max(0.0, s) / top for s in scores]


@dataclass(frozen=True)
class Adjusted:
    pid: int
    raw: float  # the retriever's own score
    adjusted: float  # relative score × π
    rank: int  # 1-based, by adjusted score


def adjust(hits: Sequence[tuple[int, float]], factors: Mapping[int, float]) -> list[Adjusted]:
    """One retriever's list, re-ordered by relative score × prior factor.

    Ties keep the retriever's own order, so with every factor equal (β = 0, or a
    list from one tier) the list is unchanged.
    """
    rel = relative([s for _, s in hits])
    rows = [
        (r * factors.get(pid, 1.0), -i, pid, raw)
        for i, ((pid, raw), r) in enumerate(zip(hits, rel, strict=True))
    ]
    rows.sort(reverse=True)
    return [Adjusted(pid, raw, adj, rank) for rank, (adj, _, pid, raw) in enumerate(rows, start=1)]
