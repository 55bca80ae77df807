"""The crawler's rules, without a crawl: canonical URLs, traps, Retry-After, SSRF, content."""

from __future__ import annotations

import email.utils

import pytest
from scrapy.http import HtmlResponse, Response
from twisted.python.failure import Failure

from stepdr.core.urls import canonical
from stepdr.crawl.politeness import retry_after
from stepdr.crawl.robots import rules_from
from stepdr.crawl.ssrf import AddressRefused, GuardedResolver, is_public
from stepdr.crawl.summary import format_summary, summarize
from stepdr.crawl.traps import TrapGuard, TrapRules
from stepdr.crawl.warc_store import content_kind


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Docs.Example.ORG:443/a/b.html#intro", "https://docs.example.org/a/b.html"),
        ("http://x.org:80", "http://x.org/"),
        ("http://x.org:8080/p", "http://x.org:8080/p"),
        ("https://x.org/p?b=2&utm_source=rss&a=1&fbclid=z", "https://x.org/p?a=1&b=2"),
        ("https://x.org/a/./b/../c?q=a b", "https://x.org/a/c?q=a+b"),
        ("https://x.org/%7euser/%e2%82%ac", "https://x.org/~user/%E2%82%AC"),
        ("https://user:pw@x.org/", "https://x.org/"),
        ("mailto:someone@x.org", None),
        ("javascript:void(0)", None),
        ("http://x.org:99999/", None),
    ],
)
def test_canonical(url: str, expected: str | None) -> None:
    assert canonical(url) == expected


def test_trap_rules() -> None:
    guard = TrapGuard(TrapRules(max_query_variants=3, max_calendar_pages=2, max_depth=4))
    assert guard.check("https://x.org/a/b/a/", 1) is None
    assert guard.check("https://x.org/a/b/a/b/a/", 1) == "repeated_segment"
    deep = "https://x.org/" + "/".join(f"s{i}" for i in range(21))
    assert guard.check(deep, 1) == "too_many_segments"
    assert guard.check("https://x.org/p", 5) == "depth"
    assert guard.check("https://x.org/p", 5, max_depth=9) is None  # an entry's own budget
    many = "https://x.org/q?" + "&".join(f"k{i}=v" for i in range(13))
    assert guard.check(many, 1) == "query_params"
    assert [guard.check(f"https://x.org/list?page={i}", 1) for i in range(4)] == [
        None, None, None, "query_variants",
    ]  # fmt: skip
    cal = [guard.check(f"https://x.org/cal/2024/{m:02d}/", 1) for m in (1, 2, 3)]
    assert cal == [None, None, "calendar"]
    # Different pages under dated paths are not one calendar.
    assert guard.check("https://x.org/news/2024/05/launch.html", 1) is None
    assert guard.check("https://x.org/news/2024/05/recall.html", 1) is None
    assert guard.check("https://x.org/" + "a" * 2100, 1) == "url_length"


def test_retry_after() -> None:
    assert retry_after(b"120") == 120.0
    assert retry_after(None) is None and retry_after(b"soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True).encode()
    assert retry_after(date, now=1_000_000) == pytest.approx(30.0)
    assert retry_after(date, now=2_000_000) == 0.0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.9", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("not-an-ip", False),
    ],
)
def test_ssrf_address_classes(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(
    ("ctype", "body", "kind"),
    [
        (b"text/html; charset=utf-8", b"<html></html>", "html"),
        (b"application/xhtml+xml", b"<html></html>", "html"),
        (b"TEXT/HTML", b"<p>x</p>", "html"),
        (b"application/pdf", b"%PDF-1.7", "pdf"),
        (None, b"%PDF-1.7 ...", "pdf"),
        (None, b"  <!DOCTYPE html><html>", "html"),
        (None, b"\x89PNG\r\n", None),
        (b"image/png", b"\x89PNG\r\n", None),
        (b"application/json", b"{}", None),
        (b"text/html", b"\x00\x01\x02binary", "binary"),
        (b"text/html", b"\xff\xfe<\x00h\x00", "html"),  # UTF-16 HTML has NULs
    ],
)
def test_content_kind(ctype: bytes | None, body: bytes, kind: str | None) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    cls = HtmlResponse if ctype and b"html" in ctype.lower() else Response
    assert content_kind(cls("https://x.org/", body=body, headers=headers)) == kind


def test_summary_lines() -> None:
    summary = summarize(
        {
            "stepdr/pages": 10,
            "stepdr/stored_bytes": 2048,
            "stepdr/rejected/robots": 2,
            "stepdr/rejected/calendar": 1,
            "stepdr/pages_by_entry/x.org": 10,
            "elapsed_time_seconds": 4.0,
        }
    )
    assert summary["rejected"] == {"calendar": 1, "robots": 2}
    assert summary["pages_per_s"] == 2.5
    lines = format_summary(summary)
    assert lines[0].startswith("pages 10") and "2.0 KiB" in lines[0]
    assert lines[1] == "rejected: calendar 1, robots 2"
    assert lines[2] == "  x.org: 10 pages"


def test_robots_answers() -> None:
    url = "https://x.org/private/a.html"
    assert rules_from(404, b"", 0.0).allows(url)  # unavailable: allow all
    assert not rules_from(503, b"", 0.0).reachable  # unreachable: disallow all, for now
    assert not rules_from(429, b"", 0.0).reachable
    assert rules_from(200, b"User-agent: *\nDisallow:\n", 0.0).allows(url)
    # The rules apply to our product token, and a file up to 500 KiB is read whole.
    padding = b"# " + b"x" * 1000 + b"\n"
    late = padding * 507 + b"User-agent: stepdr\nDisallow: /private/\n"
    assert 495 * 1024 < len(late) < 500 * 1024
    rules = rules_from(200, late, 100.0, ttl=3600.0)
    assert not rules.allows(url) and rules.allows("https://x.org/public.html")
    assert rules.expires == 3700.0


def test_resolver_refuses_private_answers() -> None:
    pinned = {"evil.example.org": "10.0.0.5", "lab.example.org": "127.0.0.1"}
    allowed = ("lab.example.org", "127.0.0.1")  # a test host, and the mirror proxy
    resolver = GuardedResolver(object(), 0, 5.0, pinned, allowed)  # type: ignore[arg-type]
    answers: list[str] = []
    refusals: list[Failure] = []
    resolver.getHostByName("lab.example.org").addCallback(answers.append)
    resolver.getHostByName("evil.example.org").addErrback(refusals.append)
    assert answers == ["127.0.0.1"]
    assert refusals[-1].check(AddressRefused)
    assert resolver._check("127.0.0.1", "127.0.0.1") == "127.0.0.1"
    assert resolver._check("10.1.1.1", "api.lab.example.org") == "10.1.1.1"  # subdomains too
    assert resolver._check("93.184.215.14", "docs.example.org") == "93.184.215.14"
    with pytest.raises(AddressRefused):
        resolver._check("169.254.169.254", "docs.example.org")
