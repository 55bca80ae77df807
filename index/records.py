"""The records that flow through a build: pages read from WARCs, passages written."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)  # one per page of the corpus, held through a build
class PageRef:
    """Where the latest good copy of a page sits in a WARC file."""

    url: str
    warc: str
    offset: int
    fetched: str
    digest: str = ""  # WARC-Payload-Digest: the body's identity ("" when the WARC lacks it)


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
    about: tuple[str, ...] = ()  # the source is primary only on queries naming one of these
    authority_elsewhere: float | None = None  # its prior on any other query


def cite_id(url: str) -> str:
    """Stable per page URL, in Step-DeepResearch's form: ``web_`` + 8 hex digits."""
    return "web_" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]


def passage_id(url: str, ordinal: int) -> int:
    """A stable positive int64 for the ``ordinal``-th passage of ``url``."""
    digest = hashlib.blake2b(f"{url}\0{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


_TOKEN = re.compile(r"[\u3400-\u9fff]|\w+")  # CJK by character, other scripts by word


def tokens(text: str) -> list[str]:
    """The words of ``text`` (Chinese characters one by one), lower-cased."""
    return _TOKEN.findall(text.lower())


def same_text_key(text: str) -> str:
    """Equal for texts that differ only in case, spacing or punctuation: the build's
    duplicate pass and the ranking's duplicate filter ask the same question."""
    return hashlib.sha1(" ".join(tokens(text)).encode()).hexdigest()


def section_of(p: Passage) -> str:
    """Where a passage stands: its page title and its last two headings."""
    return " › ".join((p.title, *p.headings[-2:]))


def passage_context(p: Passage) -> str:
    """What the models see of a passage (the embedder at build time, a cross-encoder at
    query time): the passage in the context of its page and section."""
    return f"{section_of(p)}\n{p.text}"
