"""The build's table of latest page copies: the same choice a dict made, on disk."""

from __future__ import annotations

from pathlib import Path

from stepdr.index.records import PageRef
from stepdr.index.ref_table import RefTable
from stepdr.index.warc_read import latest_pages, read_latest

from .warcutil import html_page, write_warc


def _ref(url: str, warc: str, offset: int, fetched: str) -> PageRef:
    return PageRef(url, warc, offset, fetched, f"sha1:{warc}{offset}")


def test_latest_copy_wins_and_ties_go_to_the_later_file(tmp_path: Path) -> None:
    with RefTable(tmp_path / "a.refs") as t:
        t.add(
            "one.warc",
            [_ref("u/a", "one.warc", 0, "2026-01-02"), _ref("u/b", "one.warc", 9, "2026-01-05")],
            None,
        )
        t.add(
            "two.warc",
            [_ref("u/a", "two.warc", 4, "2026-01-01"), _ref("u/b", "two.warc", 7, "2026-01-05")],
            None,
        )
        got = {r.url: (r.warc, r.offset) for r in t}
        assert len(t) == 2
    assert got == {"u/a": ("one.warc", 0), "u/b": ("two.warc", 7)}
    assert not (tmp_path / "a.refs").exists()  # scratch: gone with the table


def test_blocks_come_in_url_order_and_todo_marks_hold(tmp_path: Path) -> None:
    urls = [f"https://example.org/p{i:04d}" for i in range(2500)]
    with RefTable(tmp_path / "b.refs") as t:
        t.add("w", [_ref(u, "w", i, "2026") for i, u in enumerate(reversed(urls))], None)
        blocks = list(t.blocks(size=1000))
        assert [len(b) for b in blocks] == [1000, 1000, 500]
        assert [r.url for b in blocks for r in b] == urls
        # Marking between blocks, as extraction does, changes neither the order nor the set.
        seen = []
        for block in t.blocks(size=300):
            seen.extend(r.url for r in block)
            t.mark_todo(r.url for r in block[::7])
        assert seen == urls
        assert t.count_todo() == len(
            [u for b in range(0, 2500, 300) for u in urls[b : b + 300][::7]]
        )
        assert [r.url for r in t.todo()] == sorted(
            u for b in range(0, 2500, 300) for u in urls[b : b + 300][::7]
        )


def test_canonical_spellings_are_one_page(tmp_path: Path) -> None:
    with RefTable(tmp_path / "c.refs") as t:
        refs = [
            _ref("http://www.example.org/x", "w", 0, "1"),
            _ref("https://example.org/x", "w", 5, "2"),
        ]
        t.add("w", refs, lambda u: u.replace("http://www.", "https://"))
        assert [(r.url, r.offset) for r in t] == [("https://example.org/x", 5)]


def test_a_killed_builds_table_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "pages-123.refs"
    stale.write_bytes(b"left by a kill -9")
    with RefTable(tmp_path / "pages-456.refs") as t:
        assert len(t) == 0
        assert not stale.exists()


def test_read_latest_over_warcs_matches_each_files_last_copy(tmp_path: Path) -> None:
    page = ("text/html", html_page("A", "first copy"))
    newer = ("text/html", html_page("A", "second copy"))
    w1 = write_warc(tmp_path / "1.warc.gz", {"https://a.org/": page, "https://a.org/b": page})
    w2 = write_warc(tmp_path / "2.warc.gz", {"https://a.org/": newer})
    refs = latest_pages([w1, w2])
    assert [(r.url, Path(r.warc).name) for r in refs] == [
        ("https://a.org/", "2.warc.gz"),  # the later copy
        ("https://a.org/b", "1.warc.gz"),
    ]
    with read_latest([w1, w2], tmp_path / "t.refs") as t:
        assert list(t) == refs
