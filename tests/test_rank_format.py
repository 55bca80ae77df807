"""Tool output in Step-DeepResearch's layout."""

from __future__ import annotations

from stepdr.rank.format import format_open_results, format_search_results, page_excerpt, truncate
from stepdr.rank.results import MATCH_END, MATCH_START, OpenResult, SearchResult


def _hit(i: int, content: str = "Full passage text. " * 3) -> SearchResult:
    return SearchResult(
        cite_id=f"web_0000000{i}", url=f"https://gov.example.org/{i}.html", title=f"Title {i}",
        site="gov.example.org", published="2024-05-01" if i == 1 else None,
        snippet="short snippet", content=content, score=0.03, passage_id=i, headings=(),
        authority=1.0,
    )  # fmt: skip


def test_search_layout() -> None:
    text = format_search_results(["cod", "nothing"], [[_hit(1), _hit(2)], []])
    lines = text.splitlines()
    assert lines[0] == "<batch_search_results>" and lines[-1] == "</batch_search_results>"
    assert "<batch_metadata>\n2 queries, 2 results\n</batch_metadata>" in text
    first = text.split('<item index="1">')[1].split("</item>")[0].strip().splitlines()
    assert first[:5] == [
        "<cite_index>web_00000001</cite_index>",
        "<title>Title 1</title>",
        "<url>https://gov.example.org/1.html</url>",
        "<site>gov.example.org</site>",
        "<published_time>2024-05-01</published_time>",
    ]
    assert first[5:8] == ["<snippet>", "short snippet", "</snippet>"]
    assert first[8] == "<content>" and first[-1] == "</content>"
    second = text.split('<item index="2">')[1].split("</item>")[0]
    assert "<published_time>" not in second  # unknown dates are left out, not invented
    assert '<query_result index="2">' in text and "<result_count>0</result_count>" in text
    assert "<no_results_found>" in text


def test_open_layout_and_errors() -> None:
    ok = OpenResult("https://gov.example.org/1.html", "web_00000001", "Title", "Body",
                    site="gov.example.org")  # fmt: skip
    bad = OpenResult("https://x.example/", None, None, None, error="not in the index")
    text = format_open_results([ok, bad])
    assert "<success_count>1</success_count>" in text and "<failure_count>1</failure_count>" in text
    assert "<cite_index>web_00000001</cite_index>" in text and "<title>Title</title>" in text
    assert "<message>not in the index</message>" in text
    assert "<failed_url>https://x.example/</failed_url>" in text


def test_truncation_prefers_paragraph_and_sentence_ends() -> None:
    text = "First sentence here. " * 30 + "\n\n" + "Second part. " * 30
    cut = truncate(text, 700)
    assert cut.startswith("First") and "truncated to" in cut
    assert cut.split(" ... [")[0].endswith("here.")
    assert truncate("short", 100) == "short"
    assert truncate("x" * 500, 100).startswith("x" * 100 + " ... [500 characters")


def test_opened_page_excerpt_shows_the_match() -> None:
    paras = [f"Paragraph {i} " + "filler words " * 20 for i in range(40)]
    paras[30] = f"{MATCH_START}\nThe passage that matched.\n{MATCH_END}"
    content = "\n\n".join(paras)
    excerpt = page_excerpt(content, 2000)
    assert MATCH_START in excerpt and "The passage that matched." in excerpt
    assert excerpt.startswith("[... ") and "characters before]" in excerpt.splitlines()[0]
    assert page_excerpt("no match " * 10, 2000) == ("no match " * 10).strip()
