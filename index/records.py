"""The records that flow through a build: pages read from WARCs, passages written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PageRef:
    """Where the latest good copy of a page sits in a WARC file."""

    url: str
    warc: str
    offset: int
    fetched: str


@dataclass(frozen=True)
class Block:
    """One unit of a page's main text, as extraction found it."""

    kind: str  # paragraph | list | table | code
    text: str
    headings: tuple[str, ...]


@dataclass(frozen=True)
class ExtractedPage:
    url: str
    title: str
    lang: str | None
    published: str | None
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Passage:
    id: int
    cite_id: str
    url: str
    domain: str
    title: str
    headings: tuple[str, ...]
    ordinal: int
    text: str
    authority: float
    tier: int | None
    fetched: str
    published: str | None = None
    lang: str | None = None


def cite_id(url: str) -> str:
    """Stable per page URL, in Step-DeepResearch's form: ``web_`` + 8 hex digits."""
    return "web_" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]


def passage_id(url: str, ordinal: int) -> int:
    """A stable positive int64 for the ``ordinal``-th passage of ``url``."""
    digest = hashlib.blake2b(f"{url}\0{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
