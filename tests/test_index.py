"""The index build: dense vectors, versions, verification, PDFs, Chinese, de-duplication."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stepdr.core.errors import IndexCorruptError
from stepdr.crawl.domains_yaml import load_domains, parse_domains
from stepdr.index.build import BuildConfig, build_index
from stepdr.index.verify import verify_version
from stepdr.index.versions import IndexDir
from stepdr.rank.surfer import Surfer

from .conftest import SITE_HOST
from .warcutil import html_page, minimal_pdf, write_warc


@pytest.fixture
def data(crawled_site: Path, tmp_path: Path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(crawled_site / "data" / "warc", d / "warc")
    return d


def _build(data: Path, crawled_site: Path, **kw: object) -> object:
    config = BuildConfig(data, workers=1, **kw)  # type: ignore[arg-type]
    return build_index(config, load_domains(crawled_site / "domains.yaml"))


def test_dense_search_finds_paraphrases(data: Path, crawled_site: Path) -> None:
    _build(data, crawled_site)
    s = Surfer.open(data).index
    assert s.dense is not None and s.dense.count() == s.store.count()
    (hits,) = s.dense_search(["how often do thermometers need recalibration"], 3)
    top = s.store.get_many([hits[0][0]])[hits[0][0]]
    assert top.url == f"https://{SITE_HOST}/docs/calibration.html"
    emb = s.manifest["embedding"]
    assert (emb["model"], emb["dim"], emb["max_tokens"]) == ("all-MiniLM-L6-v2", 384, 128)


def test_rebuild_embeds_only_new_text(data: Path, crawled_site: Path) -> None:
    first = _build(data, crawled_site)
    second = _build(data, crawled_site, force=True)
    assert first.embedded > 0  # type: ignore[attr-defined]
    assert second.embedded == 0  # type: ignore[attr-defined]


def test_verify_detects_corruption_and_open_falls_back(data: Path, crawled_site: Path) -> None:
    old = _build(data, crawled_site, dense=False).version  # type: ignore[attr-defined]
    live = _build(data, crawled_site, dense=False, force=True).version  # type: ignore[attr-defined]
    assert old != live and IndexDir(data).current() == live
    verify_version(live)
    with (live / "passages.sqlite").open("ab") as fh:
        fh.write(b"garbage")
    with pytest.raises(IndexCorruptError, match=r"checksum mismatch in passages\.sqlite"):
        verify_version(live)
    (live / "passages.sqlite").unlink()
    assert Surfer.open(data).version == old  # the broken live version is never served


def test_missing_dense_file_fails_the_count_check(data: Path, crawled_site: Path) -> None:
    v = _build(data, crawled_site).version  # type: ignore[attr-defined]
    (v / "dense.faiss").unlink()
    with pytest.raises(IndexCorruptError):
        Surfer(v)


def test_old_versions_are_pruned(data: Path, crawled_site: Path) -> None:
    for _ in range(3):
        _build(data, crawled_site, dense=False, force=True, keep=2)
    assert len([p for p in (data / "index" / "versions").iterdir()]) == 2


DOMAINS = parse_domains(
    {
        "domains": [
            {"domain": "gov.example.org", "name": "Fisheries Agency", "category": "gov", "tier": 1},
            {"domain": "blog.example.com", "name": "Fish Blog", "category": "news", "tier": 4},
        ]
    }
)


def test_pdf_chinese_and_duplicates(tmp_path: Path) -> None:
    shared = (
        "The national fisheries agency reported that cod stocks in the northern sea recovered "
        "to their highest level in thirty years after quotas were cut by half in 2019."
    )
    footer = "Subscribe to our newsletter for weekly updates from the editorial team of this site."
    pages = {
        "https://gov.example.org/report.pdf": (
            "application/pdf",
            minimal_pdf(["Fisheries annual report.", "Herring quotas rise by ten percent."]),
        ),
        "https://gov.example.org/cod.html": ("text/html", html_page("Cod", shared)),
        "https://blog.example.com/cod.html": ("text/html", html_page("Cod news", shared)),
        "https://gov.example.org/zh.html": (
            "text/html; charset=utf-8",
            html_page("货币政策", "中国人民银行负责制定和执行货币政策，维护金融稳定。", lang="zh"),
        ),
    }
    for i in range(4):
        pages[f"https://blog.example.com/p{i}.html"] = (
            "text/html",
            html_page(f"Post {i}", f"Post number {i} talks about topic {i} " * 6, footer),
        )
    warc = write_warc(tmp_path / "mixed.warc.gz", pages)
    data = tmp_path / "data"
    build_index(BuildConfig(data, warcs=(warc,), workers=1, dense=False, min_words=5), DOMAINS)
    s = Surfer.open(data)
    assert s.manifest["dropped"]["exact_duplicates"] == 1
    assert s.manifest["dropped"]["boilerplate"] == 4
    assert s.manifest["sites"] == {
        "blog.example.com": ["Fish Blog"],
        "gov.example.org": ["Fisheries Agency"],
    }

    cod = s.search("cod stocks quotas", 5)
    assert [h.url for h in cod].count("https://gov.example.org/cod.html") == 1
    assert "https://blog.example.com/cod.html" not in [h.url for h in cod]  # weaker copy dropped
    assert s.search("herring quotas", 1)[0].url == "https://gov.example.org/report.pdf"
    assert s.search("newsletter editorial", 5) == []
    zh = s.search("货币政策", 1)
    assert zh and zh[0].url == "https://gov.example.org/zh.html"
    assert s.index.store.page("https://gov.example.org/zh.html")[0].lang == "zh"


CODE_PAGE = (
    b"<!DOCTYPE html><html lang='en'><head><title>functools</title></head><body><main>"
    b"<h1>functools</h1><p>The cache decorator memoizes a function: every call with the same "
    b"arguments after the first returns the stored result without running the body again.</p>"
    b"<p>For example:</p><div class='highlight'><pre><span class='nd'>@cache</span>\n"
    b"<span class='k'>def</span> factorial(n):\n    return n * factorial(n-1) if n else 1\n\n"
    b"&gt;&gt;&gt; factorial(10)\n3628800</pre></div>"
    b"<p>The cache is threadsafe so the wrapped function can be used in multiple threads, "
    b"and it never evicts old values, so it is smaller and faster than a bounded cache.</p>"
    b"</main></body></html>"
)
FACTORIAL = "@cache\ndef factorial(n):\n    return n * factorial(n-1) if n else 1"


def test_code_stays_code_in_passages_snippets_and_open(tmp_path: Path) -> None:
    from stepdr.index.extract import extract

    page = extract(CODE_PAGE, "https://docs.example.org/functools.html")
    assert page is not None
    (code,) = [b for b in page.blocks if b.kind == "code"]
    assert code.text == FACTORIAL + "\n\n>>> factorial(10)\n3628800"
    warc = write_warc(tmp_path / "code.warc.gz", {
        "https://docs.example.org/functools.html": ("text/html", CODE_PAGE),
    })  # fmt: skip
    data = tmp_path / "data"
    build_index(BuildConfig(data, warcs=(warc,), workers=1, dense=False, min_words=5), DOMAINS)
    s = Surfer.open(data)
    (hit,) = s.search("factorial recursive", 1)  # code stays searchable
    assert FACTORIAL in hit.content and FACTORIAL in hit.snippet
    (opened,) = s.batch_open(["https://docs.example.org/functools.html"])
    assert opened.content is not None and FACTORIAL in opened.content


def test_long_passages_are_embedded_whole_when_asked(tmp_path: Path) -> None:
    from stepdr.index.windows import STRIDE, WORDS

    long = " ".join(f"Sentence {i} of the guide says where the logs go." for i in range(16))
    warc = write_warc(tmp_path / "long.warc.gz", {
        "https://docs.example.org/logs.html": ("text/html", html_page("Logs", long)),
        "https://docs.example.org/short.html": ("text/html", html_page("Short", "Ten " * 45)),
    })  # fmt: skip
    data = tmp_path / "data"
    first = build_index(BuildConfig(data, warcs=(warc,), workers=1), DOMAINS)
    assert Surfer.open(data).index.manifest["embedding"]["windows"] is None
    whole = build_index(BuildConfig(data, warcs=(warc,), workers=1, windows=True), DOMAINS)
    assert whole.version != first.version  # another setting: a new version
    assert (whole.passages, whole.embedded) == (2, 1)  # the short one was cached
    index = Surfer.open(data).index
    assert index.manifest["embedding"]["windows"] == {"words": WORDS, "stride": STRIDE}
    assert index.manifest["dense_vectors"] == index.dense.count() == 4  # 1 + 3 windows
    verify_version(whole.version)
    (hits,) = index.dense_search(["where do the logs go"], 5)
    assert len(hits) == 2 and len({i for i, _ in hits}) == 2  # each passage once
