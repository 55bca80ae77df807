"""The ``batch_web_surfer`` tool: search and open pages of the local index.

Two backends behind one seam: the index in-process (``stepdr.rank.Surfer``), or the
search server over HTTP (``POST /v1/search`` with ``{"query", "n"}`` and a Bearer token,
the shape Step-DeepResearch's search client speaks).  Every hit and opened page is
returned as a ``Source``: the run may cite exactly those.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from stepdr.crawl.errors import QueryError, StepdrError
from stepdr.index.records import cite_id

from ..records import Source, ToolOutput
from .base import ArgError, get_choice, get_int, get_str_list

MAX_BATCH = 8
HIT_CHARS = 700
PAGE_CHARS = 100_000


@dataclass(frozen=True)
class Hit:
    source: Source
    text: str


@dataclass(frozen=True)
class Page:
    url: str
    source: Source | None
    text: str | None
    error: str | None = None


class SearchBackend(Protocol):
    def search(self, queries: Sequence[str], topk: int) -> list[list[Hit]]: ...

    def open(self, urls: Sequence[str]) -> list[Page]: ...


class LocalBackend:
    """The live index version of a data directory, in this process."""

    def __init__(self, data_dir: Path) -> None:
        from stepdr.rank import Surfer

        self.surfer = Surfer.open(data_dir)

    def search(self, queries: Sequence[str], topk: int) -> list[list[Hit]]:
        out = []
        for results in self.surfer.batch_search(list(queries), topk):
            out.append(
                [
                    Hit(
                        Source(r.cite_id, r.url, r.title, r.site, r.authority, r.published),
                        r.content or r.snippet,
                    )
                    for r in results
                ]
            )
        return out

    def open(self, urls: Sequence[str]) -> list[Page]:
        pages = []
        for r in self.surfer.batch_open(list(urls)):
            if r.error or r.cite_id is None or r.content is None:
                pages.append(Page(r.url, None, None, r.error or "not in the index"))
                continue
            src = Source(r.cite_id, r.url, r.title or r.url, urlsplit(r.url).hostname or "")
            pages.append(Page(r.url, src, r.content))
        return pages


class HttpBackend:
    """The search server: one ``/v1/search`` POST per query, ``/v1/open`` for pages."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        url = self.base + path
        req = urllib.request.Request(url, json.dumps(payload).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise QueryError(f"search server answered {e.code} for {path}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ValueError) as e:
            raise StepdrError(f"search server {url} unreachable: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise StepdrError(f"search server {url} sent no result list")
        return data

    def search(self, queries: Sequence[str], topk: int) -> list[list[Hit]]:
        out = []
        for q in queries:
            hits = []
            for r in self._post("/v1/search", {"query": q, "n": topk})["results"]:
                url = str(r.get("url") or "")
                if not url:
                    continue
                site = urlsplit(url).hostname or ""
                src = Source(
                    cite_id(url), url, str(r.get("title") or url), site, None, r.get("time")
                )
                hits.append(Hit(src, str(r.get("content") or r.get("snippet") or "")))
            out.append(hits)
        return out

    def open(self, urls: Sequence[str]) -> list[Page]:
        pages = []
        for r in self._post("/v1/open", {"urls": list(urls)})["results"]:
            url, cid, text = str(r.get("url") or ""), r.get("cite_id"), r.get("content")
            if r.get("error") or not cid or not isinstance(text, str):
                pages.append(Page(url, None, None, str(r.get("error") or "not in the index")))
                continue
            site = str(r.get("site") or urlsplit(url).hostname or "")
            src = Source(str(cid), url, str(r.get("title") or url), site, None, r.get("published"))
            pages.append(Page(url, src, text))
        return pages


class WebSurferTool:
    name = "batch_web_surfer"
    disabled: str | None = None

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    @property
    def description(self) -> str:
        return (
            "batch_web_surfer: search the index of trusted sources, or open pages from it.\n"
            '  {"action": "batch_search", "queries": ["q1", "q2"], "topk": 5}\n'
            '  {"action": "batch_open", "urls": ["https://..."]}\n'
            "Every result carries an id like web_1a2b3c4d: cite it as \\cite{web_1a2b3c4d}."
        )

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        action = get_choice(args, "action", ("batch_search", "batch_open"))
        if action == "batch_search":
            queries = get_str_list(args, "queries", MAX_BATCH) or get_str_list(args, "query", 1)
            if not queries:
                raise ArgError('batch_search needs "queries": a list of search strings')
            topk = get_int(args, "topk", 5, 1, 20)
            return self._searched(queries, self.backend.search(queries, topk))
        urls = get_str_list(args, "urls", MAX_BATCH) or get_str_list(args, "url", 1)
        if not urls:
            raise ArgError('batch_open needs "urls": a list of page URLs')
        return self._opened(self.backend.open(urls))

    def _searched(self, queries: list[str], results: list[list[Hit]]) -> ToolOutput:
        parts, sources = [], []
        for q, hits in zip(queries, results, strict=True):
            parts.append(f'Results for "{q}": {len(hits)}')
            for i, h in enumerate(hits, 1):
                s = h.source
                text = " ".join(h.text.split())
                if len(text) > HIT_CHARS:
                    text = text[:HIT_CHARS].rsplit(" ", 1)[0] + " …"
                parts.append(f"[{i}] {s.cite_id} | {s.title} | {s.site}\n    {s.url}\n    {text}")
                sources.append(s)
        return ToolOutput("\n".join(parts), sources=tuple(sources))

    def _opened(self, pages: list[Page]) -> ToolOutput:
        parts, sources = [], []
        for p in pages:
            if p.source is None or p.text is None:
                parts.append(f"{p.url}: {p.error}")
                continue
            text = p.text[:PAGE_CHARS]
            parts.append(f"Page {p.source.cite_id} | {p.source.title}\n{p.url}\n\n{text}")
            sources.append(p.source)
        return ToolOutput("\n\n".join(parts), ok=bool(sources), sources=tuple(sources))

    def close(self) -> None:
        pass
