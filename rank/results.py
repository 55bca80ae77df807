"""What a search returns: small frozen records, ready for JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scores:
    """Every stage's number behind one hit, so a ranking can be explained.

    ``None`` means the stage did not see the passage (not in that retriever's
    candidates, no cross-encoder configured).  The formula that combines them is
    documented in ``stepdr.rank.fuse``.
    """

    bm25: float | None = None  # raw BM25 score
    bm25_rank: int | None = None  # 1-based rank in the BM25 list, after the prior
    dense: float | None = None  # cosine similarity
    dense_rank: int | None = None
    authority: float = 0.0  # the page's prior from domains.yaml, 0..1
    factor: float = 1.0  # the factor π it became: 1 - β + β·authority
    fused: float = 0.0  # reciprocal-rank or weighted fusion of the lists
    page: float | None = None  # what the page's other candidates added (page evidence)
    title: float | None = None  # the query is its page's title or a heading: × (1 + this)
    cross: float | None = None  # cross-encoder relevance, 0..1
    final: float = 0.0  # what the list is sorted by

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    cite_id: str
    url: str
    title: str
    site: str
    published: str | None
    snippet: str
    content: str
    score: float
    passage_id: int
    headings: tuple[str, ...]
    authority: float
    scores: Scores = field(default_factory=Scores)
    tier: int | None = None
    ordinal: int = 0  # the passage's place in its page

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["headings"] = list(self.headings)
        return d


@dataclass(frozen=True)
class OpenResult:
    """A stored page, or why it could not be opened.

    ``content`` is the page's passages in order; the passages that recent
    searches (or the caller) pointed at are wrapped in ``MATCH_START`` /
    ``MATCH_END`` lines, and their ordinals are in ``matched``.
    """

    url: str
    cite_id: str | None
    title: str | None
    content: str | None
    error: str | None = None
    site: str | None = None
    published: str | None = None
    matched: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["matched"] = list(self.matched)
        return d


MATCH_START = "<mark>"
MATCH_END = "</mark>"
