"""The ``batch_web_surfer`` tool: search and open pages of the local index.

Two backends behind one seam: the index in-process (``stepdr.rank.Surfer``), or the
search server over HTTP (``POST /v1/search`` with ``{"query", "n"}`` and a Bearer token,
the shape Step-DeepResearch's search client speaks).  Both hand back the rank layer's
``SearchResult``/``OpenResult`` records, and the tool renders them in the layout the
project serves (``stepdr.rank.format``).  Every hit and opened page is returned as a
``Source``: the run may cite exactly those.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from stepdr.core.errors import QueryError, StepdrError
from stepdr.index.records import cite_id
from stepdr.rank.format import format_open_results, format_search_results
from stepdr.rank.results import OpenResult, SearchResult

from ..http import HttpFailure, request_json
from ..prompt import EXAMPLE_QUERIES, placeholder_note
from ..records import OpeningCall, Source, ToolCall, ToolOutput
from .base import ArgError, Refused, get_choice, get_int, get_str_list

NAME = "batch_web_surfer"
MAX_BATCH = 8
HIT_CHARS = 700
PAGE_CHARS = 100_000
EVIDENCE_CHARS = 20_000  # of an opened page, kept in the trajectory to check citations


class SearchBackend(Protocol):
    def search(self, queries: Sequence[str], topk: int) -> list[list[SearchResult]]: ...

    def open(self, urls: Sequence[str]) -> list[OpenResult]: ...


class LocalBackend:
    """The live index version of a data directory, in this process."""

    def __init__(self, data_dir: Path) -> None:
        from stepdr.rank import Surfer

        self.surfer = Surfer.open(data_dir)

    def search(self, queries: Sequence[str], topk: int) -> list[list[SearchResult]]:
        return self.surfer.batch_search(list(queries), topk)

    def open(self, urls: Sequence[str]) -> list[OpenResult]:
        return self.surfer.batch_open(list(urls))


class HttpBackend:
    """The search server: one ``/v1/search`` POST per query, ``/v1/open`` for pages."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _post(self, path: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        url = self.base + path
        try:
            data = request_json(url, payload, self.token, self.timeout, detail=300)
        except HttpFailure as e:
            if e.status is None:
                raise StepdrError(f"search server {url} unreachable: {e.detail}") from None
            raise QueryError(f"search server answered {e.status} for {path}: {e.detail}") from None
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise StepdrError(f"search server {url} sent no result list")
        return [r for r in results if isinstance(r, dict)]

    def search(self, queries: Sequence[str], topk: int) -> list[list[SearchResult]]:
        out = []
        for q in queries:
            rows = self._post("/v1/search", {"query": q, "n": topk})
            out.append([_search_result(r) for r in rows if r.get("url")])
        return out

    def open(self, urls: Sequence[str]) -> list[OpenResult]:
        return [_open_result(r) for r in self._post("/v1/open", {"urls": list(urls)})]


def _search_result(r: Mapping[str, Any]) -> SearchResult:
    """A ``/v1/search`` row as a record; a server that sends no cite index gets ours."""
    url = str(r["url"])
    tier = r.get("tier")
    return SearchResult(
        cite_id=str(r.get("cite_index") or cite_id(url)),
        url=url,
        title=str(r.get("title") or url),
        site=str(r.get("site") or urlsplit(url).hostname or ""),
        published=r.get("time") or None,
        snippet=str(r.get("snippet") or ""),
        content=str(r.get("content") or r.get("snippet") or ""),
        score=float(r.get("score") or 0.0),
        passage_id=int(r.get("passage_id") or 0),
        headings=(),
        authority=float(r.get("authority") or 0.0),
        tier=tier if isinstance(tier, int) else None,
    )


def _open_result(r: Mapping[str, Any]) -> OpenResult:
    url, cid, text = str(r.get("url") or ""), r.get("cite_id"), r.get("content")
    if r.get("error") or not cid or not isinstance(text, str):
        return OpenResult(url, None, None, None, error=str(r.get("error") or "not in the index"))
    site = str(r.get("site") or urlsplit(url).hostname or "")
    return OpenResult(
        url, str(cid), str(r.get("title") or url), text, None, site, r.get("published")
    )


def hit_source(r: SearchResult) -> Source:
    # A foreign server that sends neither leaves the authority unknown, not zero.
    known = r.tier is not None or r.authority > 0
    return Source(
        r.cite_id, r.url, r.title, r.site, r.authority if known else None, r.published, r.tier
    )


def page_source(r: OpenResult) -> Source:
    site = r.site or urlsplit(r.url).hostname or ""
    return Source(str(r.cite_id), r.url, r.title or r.url, site, None, r.published)


def search_signature(args: Mapping[str, Any]) -> str:
    """A search call's identity: its action, queries or URLs (in any order) and topk."""
    items = args.get("queries") or args.get("query") or args.get("urls") or args.get("url")
    listed = sorted(map(str, items)) if isinstance(items, list) else [str(items)]
    key = {"action": str(args.get("action")), "items": listed, "topk": str(args.get("topk", 5))}
    return json.dumps(key, sort_keys=True)


def search_first(question: str) -> list[OpeningCall]:
    """The opening search for the question itself: small models often answer from memory."""
    query = " ".join(question.split())[:1000]
    call = ToolCall(NAME, {"action": "batch_search", "queries": [query]})
    return [OpeningCall(call, "[agent] A first search for the question")]


class WebSurferTool:
    name = NAME
    disabled: str | None = None

    def __init__(self, backend: SearchBackend, placeholders: Sequence[str] = EXAMPLE_QUERIES):
        self.backend = backend
        self.placeholders = frozenset(q.lower() for q in placeholders)

    @property
    def description(self) -> str:
        return (
            "batch_web_surfer: search the index of trusted sources, or open pages from it.\n"
            '  {"action": "batch_search", "queries": ["q1", "q2"], "topk": 5}\n'
            '  {"action": "batch_open", "urls": ["https://..."]}\n'
            "Every result carries an id like web_1a2b3c4d: cite it as \\cite{web_1a2b3c4d}."
        )

    def signature(self, args: Mapping[str, Any]) -> str:
        """The index does not change during a run: the same call finds the same pages."""
        return search_signature(args)

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        action = get_choice(args, "action", ("batch_search", "batch_open"))
        if action == "batch_search":
            queries = get_str_list(args, "queries", MAX_BATCH) or get_str_list(args, "query", 1)
            if not queries:
                raise ArgError('batch_search needs "queries": a list of search strings')
            if all(q.strip().lower() in self.placeholders for q in queries):
                raise Refused(placeholder_note(), placeholder=True)
            topk = get_int(args, "topk", 5, 1, 20)
            results = self.backend.search(queries, topk)
            text = format_search_results(queries, results, content_chars=HIT_CHARS, snippets=False)
            hits = [r for rows in results for r in rows]
            evidence: dict[str, list[str]] = {}
            for r in hits:
                evidence.setdefault(r.cite_id, []).append((r.content or r.snippet)[:HIT_CHARS])
            joined = {cid: "\n\n".join(parts) for cid, parts in evidence.items()}
            return ToolOutput(text, sources=tuple(map(hit_source, hits)), evidence=joined)
        urls = get_str_list(args, "urls", MAX_BATCH) or get_str_list(args, "url", 1)
        if not urls:
            raise ArgError('batch_open needs "urls": a list of page URLs')
        pages = self.backend.open(urls)
        shown = [p for p in pages if p.error is None and p.content is not None]
        text = format_open_results(pages, PAGE_CHARS)
        pages_seen = {str(p.cite_id): str(p.content)[:EVIDENCE_CHARS] for p in shown}
        sources = tuple(map(page_source, shown))
        return ToolOutput(text, ok=bool(sources), sources=sources, evidence=pages_seen)

    def close(self) -> None:
        pass
