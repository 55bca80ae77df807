"""Tool output in Step-DeepResearch's layout, so its prompts work unchanged.

Its batch_web_surfer renders searches as ``<batch_search_results>`` with one
``<query_result>`` per query and one ``<item>`` per hit (``cite_index``,
``title``, ``url``, ``site``, ``published_time``, ``snippet``, ``content``),
and opened pages as ``<batch_open_results>``.  The cite index here is the
page's stable ``web_`` + 8 hex id from the index, so a report's citations
resolve to the same page whichever search found it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .results import MATCH_START, OpenResult, SearchResult

SNIPPET_CHARS = 300
CONTENT_CHARS = 1024
PAGE_CHARS = 4096


def truncate(text: str, limit: int, min_ratio: float = 0.8) -> str:
    """At most ``limit`` characters, cut at a paragraph or sentence end when one is near."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    floor = int(limit * min_ratio)
    cut = head.rfind("\n\n")
    if cut < floor:
        cut = max(head.rfind(c) for c in ".!?。！？\n")
        cut = cut + 1 if cut >= floor else -1
    body = head[:cut].rstrip() if cut > 0 else head
    return f"{body} ... [{len(text)} characters, truncated to {len(body)}]"


def page_excerpt(content: str, limit: int) -> str:
    """A page cut to ``limit`` characters; when the marked passage lies beyond the
    cut, the excerpt starts a little before it instead of at the top."""
    at = content.find(MATCH_START)
    if at < limit // 2:
        return truncate(content, limit)
    start = content.rfind("\n\n", 0, max(0, at - limit // 4)) + 2
    start = start if start > 1 else at
    return f"[... {start} characters before]\n" + truncate(content[start:], limit)


def format_search_results(
    queries: Sequence[str],
    results: Sequence[Sequence[SearchResult]],
    content_chars: int = CONTENT_CHARS,
    snippets: bool = True,
) -> str:
    """The Step-DR layout; ``snippets=False`` shows each passage alone, ``content_chars``
    long, for a model with a small context (the bundled agent)."""
    total = sum(len(r) for r in results)
    lines = [
        "<batch_search_results>",
        "<batch_metadata>",
        f"{len(queries)} queries, {total} results",
        "</batch_metadata>",
    ]
    if not queries:
        lines.append("<no_queries>no search queries were run</no_queries>")
    for qi, (query, hits) in enumerate(zip(queries, results, strict=True), 1):
        lines += [
            f'<query_result index="{qi}">',
            "<query_metadata>",
            f"<query>{query}</query>",
            f"<result_count>{len(hits)}</result_count>",
            "</query_metadata>",
        ]
        if not hits:
            lines.append(f"<no_results_found>no results for '{query}'</no_results_found>")
        else:
            lines.append("<items>")
            for i, h in enumerate(hits, 1):
                lines += _item(i, h, content_chars, snippets)
            lines.append("</items>")
        lines.append("</query_result>")
    lines.append("</batch_search_results>")
    return "\n".join(lines)


def _item(index: int, h: SearchResult, content_chars: int, snippets: bool) -> list[str]:
    lines = [
        f'<item index="{index}">',
        f"<cite_index>{h.cite_id}</cite_index>",
        f"<title>{h.title}</title>",
        f"<url>{h.url}</url>",
        f"<site>{h.site}</site>",
    ]
    if h.published:
        lines.append(f"<published_time>{h.published}</published_time>")
    if h.snippet and snippets:
        lines += ["<snippet>", truncate(h.snippet, SNIPPET_CHARS), "</snippet>"]
    content = h.content if h.content.strip() else h.snippet
    if content.strip() and (content != h.snippet or not snippets):
        lines += ["<content>", truncate(content, content_chars), "</content>"]
    lines.append("</item>")
    return lines


def format_open_results(results: Sequence[OpenResult], page_chars: int = PAGE_CHARS) -> str:
    ok = sum(1 for r in results if r.error is None)
    lines = [
        "<batch_open_results>",
        "<batch_metadata>",
        f"<total_urls>{len(results)}</total_urls>",
        f"<success_count>{ok}</success_count>",
        f"<failure_count>{len(results) - ok}</failure_count>",
        "</batch_metadata>",
    ]
    if not results:
        lines.append("<no_urls>no URLs were given</no_urls>")
    for i, r in enumerate(results, 1):
        lines.append(f'<url_result index="{i}">')
        if r.error is not None or r.content is None:
            lines += [
                "<error>",
                "<code>-1</code>",
                f"<message>{r.error or 'no content'}</message>",
                f"<failed_url>{r.url}</failed_url>",
                "</error>",
            ]
        else:
            lines += ["<page_metadata>", f"<url>{r.url}</url>"]
            if r.site:
                lines.append(f"<site>{r.site}</site>")
            if r.cite_id:
                lines.append(f"<cite_index>{r.cite_id}</cite_index>")
            lines.append("</page_metadata>")
            if r.title:
                lines.append(f"<title>{r.title.strip()}</title>")
            lines += ["<content>", page_excerpt(r.content, page_chars), "</content>"]
        lines.append("</url_result>")
    lines.append("</batch_open_results>")
    return "\n".join(lines)
