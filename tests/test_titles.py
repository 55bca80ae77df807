"""Exact title matches (rank/titles.py): a query that is a page's or a section's name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from stepdr.core.errors import ConfigError
from stepdr.rank.pipeline import RankConfig, pipeline, query_words, rank_batch
from stepdr.rank.titles import title_key, title_keys

from .test_rank_fusion import FakeIndex, _p


def test_title_keys_set_numbers_case_and_descriptions_aside() -> None:
    assert title_keys("ALTER COLLATION") == {"alter collation"}
    assert title_keys("9.17. Sequence Manipulation Functions") == {
        "sequence manipulation functions"
    }
    assert "pageinspect" in title_keys("F.25. pageinspect — low-level inspection of pages")
    assert "functools" in title_keys("functools — Higher-order functions and tools")
    assert title_keys("PRAGMA auto_vacuum") == {"pragma auto vacuum"}  # words only
    assert title_keys("IV. Client Interfaces") == {"client interfaces"}
    assert title_keys("") == set() and title_keys("x" * 300) == set()
    assert title_key("  Writing your first Django app, part 1! ") == (
        "writing your first django app part 1"
    )


def test_a_query_that_is_a_title_finds_that_page() -> None:
    # The DROP page is ahead in both lists (it names ALTER COLLATION in its "See Also").
    drop = replace(_p(1, "https://p.org/drop.html", "p.org", "See also ALTER COLLATION"),
                   title="DROP COLLATION")  # fmt: skip
    alter = replace(_p(2, "https://p.org/alter.html", "p.org", "ALTER COLLATION changes"),
                    title="ALTER COLLATION")  # fmt: skip
    section = replace(_p(3, "https://p.org/coll.html", "p.org", "Collations in general"),
                      title="24.2. Collation Support", headings=("24.2.1. Concepts",))  # fmt: skip
    index = FakeIndex([drop, alter, section])

    def order(query: str, config: RankConfig | None = None) -> list[int]:
        (rows,) = rank_batch(index, [query], config or RankConfig(), 3)
        return [r.passage.id for r in rows]

    assert order("alter collation") == [2, 1, 3]
    assert order("Collation support") == [3, 1, 2]  # the title, its number set aside
    assert order("concepts") == [3, 1, 2]  # a heading names its section
    assert order("collation") == [1, 2, 3]  # part of a name is not the name
    assert order("alter collation", RankConfig(title_match=0.0)) == [1, 2, 3]
    (top, *_), = rank_batch(index, ["ALTER COLLATION"], RankConfig(), 3)  # fmt: skip
    assert top.scores.title == 1.0 and top.scores.final == pytest.approx(2 * top.scores.fused)
    with pytest.raises(ConfigError, match="title match"):
        RankConfig(title_match=-1.0)


def test_the_title_stage_is_the_last_row_of_the_grid() -> None:
    assert pipeline("hybrid+authority+page+title") == RankConfig()  # the shipped pipeline
    assert pipeline("hybrid+authority+page").title_match == 0.0
    assert pipeline("hybrid+authority+page").page_weight == RankConfig().page_weight
    assert pipeline("bm25").title_match == 0.0


def test_a_define_flag_also_asks_for_the_name_it_defines() -> None:
    assert query_words("-DSQLITE_OMIT_WAL") == ["dsqlite_omit_wal", "sqlite_omit_wal"]
    assert query_words("gcc -D NDEBUG") == ["gcc", "d", "ndebug"]  # no name attached
    assert query_words("x-Dfoo") == ["x", "dfoo"]  # inside a word it is no flag
