"""Opening pages: which stored URL a caller meant, and the page text with matches marked."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from urllib.parse import urlsplit, urlunsplit

from stepdr.core.urls import canonical
from stepdr.index.records import Passage

from .results import MATCH_END, MATCH_START


def url_variants(url: str) -> list[str]:
    """The URL as given, then the spellings the index may hold it under.

    Agents copy URLs with fragments, with or without a trailing slash or an
    ``index.html``, or with http for https; all of them name one stored page.
    """
    raw = url.strip()
    out = [raw]
    canon = canonical(raw)
    if canon is None:
        return out
    out.append(canon)
    parts = urlsplit(canon)
    path = parts.path or "/"
    paths = [path]
    if path.endswith("/index.html"):
        paths.append(path[: -len("index.html")])
    elif path.endswith("/"):
        paths.append(path + "index.html")
    else:
        paths.append(path + "/")
    for scheme in (parts.scheme, "https" if parts.scheme == "http" else "http"):
        for p in paths:
            out.append(urlunsplit((scheme, parts.netloc, p, parts.query, "")))
    return list(dict.fromkeys(out))


def page_text(passages: Sequence[Passage], matched: Collection[int]) -> tuple[str, tuple[int, ...]]:
    """The page's passages in order, with the ordinals in ``matched`` marked.

    A passage under a new section heading starts with that heading, so the
    opened page keeps its outline.
    """
    parts: list[str] = []
    marked: list[int] = []
    last_heading: tuple[str, ...] = ()
    for p in passages:
        block = p.text
        if p.headings and p.headings != last_heading:
            block = f"## {p.headings[-1]}\n\n{block}"
            last_heading = p.headings
        if p.ordinal in matched:
            block = f"{MATCH_START}\n{block}\n{MATCH_END}"
            marked.append(p.ordinal)
        parts.append(block)
    return "\n\n".join(parts), tuple(marked)
