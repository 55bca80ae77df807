"""What a search returns: small frozen records, ready for JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["headings"] = list(self.headings)
        return d


@dataclass(frozen=True)
class OpenResult:
    url: str
    cite_id: str | None
    title: str | None
    content: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
