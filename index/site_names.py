"""What each site of an index is called, for queries that name the site they mean.

"Does SQLite support window functions?" asks about SQLite's pages, not Python's
``sqlite3`` module or PostgreSQL's window functions, though both match its words.  A
build records, per site it holds, the names a query would use for it (the manifest's
``sites``): its entry's ``name`` without version numbers, bracketed glosses and the
generic words of documentation titles ("Django 3.2 documentation" → "Django"), and its
``about`` names.  The ranking leans towards the named sites (``rank.prior``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stepdr.crawl.domains import DomainSet

_GENERIC_WORDS = """documentation docs doc manual manuals handbook reference guide guides
official website site portal home homepage the of"""
_GENERIC = frozenset(_GENERIC_WORDS.split())
_VERSION = re.compile(r"^v?\d+(\.\d+)*[a-z]?$", re.I)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^]]*\]")
MIN_CHARS = 3  # shorter names ("Go", "R") are ordinary words in a query


def subject(name: str) -> str | None:
    """The name a query would use for a source called ``name``; None when nothing
    specific is left."""
    words = [w for w in _BRACKETS.sub(" ", name).split() if w.strip(",.:;-")]
    kept = [w for w in words if not _VERSION.match(w)]
    while kept and kept[0].casefold() in _GENERIC:  # generic words at the edges only:
        kept.pop(0)  # "Department of the Treasury" keeps its "of the"
    while kept and kept[-1].casefold() in _GENERIC:
        kept.pop()
    text = " ".join(kept).strip(" ,.:;-")
    return text if len(text) >= MIN_CHARS else None


def site_names(domains: DomainSet, present: Iterable[str]) -> dict[str, list[str]]:
    """Per site key in ``present`` (a passage's ``domain``), the names of its entries."""
    wanted = set(present)
    out: dict[str, list[str]] = {}
    for entry in domains:
        if entry.domain not in wanted:
            continue
        names = out.setdefault(entry.domain, [])
        for n in (subject(entry.name), *entry.about):
            if n and n not in names:
                names.append(n)
    return {site: names for site, names in sorted(out.items()) if names}
