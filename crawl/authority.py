"""The authority model: how much a page is trusted before anyone reads it.

Every page gets an *authority prior* in [0, 1] that ranking multiplies into
its score.  The prior comes from the entry of domains.yaml that scopes the page:

    prior(entry) = entry.authority            when the entry sets ``authority:``
                 = TIER_AUTHORITY[entry.tier]  otherwise
    prior(page)  = prior(match(page.url))      when some entry scopes the URL
                 = UNLISTED_AUTHORITY          otherwise

Tiers (``tier:``), with their priors:

    1  primary or official: the body that makes the law, the standard, the
       statistic or the software speaks for itself                        1.0
    2  authoritative secondary: peer-reviewed journals, universities,
       research institutes, scholarly encyclopedias                        0.8
    3  reputable: general encyclopedias, news organisations of record      0.6
    4  useful but weaker: user-written references, Q&A sites               0.4
    -  unlisted: any page outside every entry (WARCs users bring)          0.2
    5  known bad: content farms, mirrors of others' work, disinformation   0.1
       (ranking only: a tier-5 scope is never crawled, its pages rank last)

Two refinements, both for ranking only:

    suffix defaults  a page outside every entry whose host ends in a listed suffix
                     (``suffix_defaults: {gov.cn: 2, edu: 3}`` at the top of the file)
                     gets that tier's prior instead of the unlisted one; the longest
                     suffix wins, and a suffix never widens what is crawled
    outdated         an entry marked ``version: outdated`` (documentation of a release
                     past its end of life) has its prior multiplied by
                     ``OUTDATED_FACTOR``, so the current release wins at comparable
                     relevance
    about itself     an entry with ``about: [names]`` (a company's site, a lab's posts)
                     is primary only about itself: its prior holds for a query that
                     names one of them, and is capped at ``ABOUT_ELSEWHERE`` (tier 3's)
                     for any other query; the build stores both priors with each page

The unlisted prior is above zero on purpose: pages from outside the list still
index and can still win on relevance; they only start behind listed ones.

Inheritance.  An entry scopes its host *and every subdomain of it*, under an
optional path prefix: ``who.int`` covers ``www.who.int/news/`` and
``iris.who.int/handle/…``; ``docs.python.org`` with ``path: /3.11/`` covers only
that prefix.  When several entries scope a URL the most specific one decides
alone — the longest host first, then the longest path — so a subdomain or a
path scope can rank its pages above *or below* its parent's.  An entry's
``allow``/``deny`` patterns take URLs out of its scope for ranking as well as
crawling; such a URL falls to the next enclosing entry, or is unlisted.

This module holds the numbers; ``stepdr.crawl.domains`` does the matching.  No
other module hard-codes a domain or a prior.
"""

from __future__ import annotations

from collections.abc import Mapping

TIER_AUTHORITY: Mapping[int, float] = {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.4, 5: 0.1}
"""Authority prior of each tier: 1 primary/official … 4 useful but weaker, 5 known bad."""

KNOWN_BAD = 5
"""The tier below unlisted: ranked last, never crawled."""

OUTDATED_FACTOR = 0.7
"""What ``version: outdated`` multiplies an entry's prior by."""

ABOUT_ELSEWHERE = TIER_AUTHORITY[3]
"""The most an ``about:`` entry's pages get on a query that names none of its names."""

UNLISTED_AUTHORITY = 0.2
"""Prior of a page outside every entry (WARCs users bring still index)."""

TIERS: tuple[int, ...] = tuple(sorted(TIER_AUTHORITY))
"""The valid values of ``tier:``."""


def prior(tier: int, override: float | None = None, outdated: bool = False) -> float:
    """The authority prior of an entry: its ``authority:`` override, else its tier's."""
    if override is not None:
        if not 0.0 <= override <= 1.0:
            raise ValueError(f"authority must be in [0, 1], got {override!r}")
        base = float(override)
    else:
        try:
            base = TIER_AUTHORITY[tier]
        except KeyError:
            raise ValueError(f"tier must be one of {TIERS}, got {tier!r}") from None
    return base * OUTDATED_FACTOR if outdated else base
