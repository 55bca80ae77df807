"""Queries are hostile text: whatever the string, a list comes back or a QueryError
for the documented limits (blank, too long) — never anything else."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepdr.core.errors import QueryError
from stepdr.rank import Surfer
from stepdr.rank.pipeline import RankConfig
from stepdr.rank.surfer import MAX_QUERY_CHARS

SYNTAX = [
    *'"\':()[]{}<>-+*?~^!&|\\/=.,;@#$%`',
    "AND", "OR", "NOT", "TO", "title:", "text:", "id:1", "*:*", "IN [", "^2", "~3", "\\u0000",
    "https://docs.python.org/3.11/library/functools.html?q=1#x", "中文", "货币政策", "😀", "🇺🇸",
    "\u200b", "\ufeff", "\x00", "\t", "\n", "\ud800", "\udfff", "Ω", "é", "ﬁ", "İ",
]  # fmt: skip
any_char = st.characters(codec=None, exclude_categories=[])  # surrogates and controls included
hostile = st.one_of(
    st.text(any_char, max_size=80),
    st.lists(st.sampled_from(SYNTAX), max_size=12).map(" ".join),
    st.lists(st.sampled_from(SYNTAX), max_size=30).map("".join),
    st.tuples(
        st.sampled_from(["-", '"', "(", "title:", "+", "*"]), st.text(any_char, max_size=40)
    ).map("".join),
)


def _check(surfer: Surfer, query: str, config: RankConfig) -> None:
    try:
        out = surfer.batch_search([query], 5, config)
    except QueryError as e:
        assert not query.strip() or len(query) > MAX_QUERY_CHARS, (query, e)
        return
    assert len(out) == 1 and isinstance(out[0], list) and len(out[0]) <= 5


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(query=hostile)
def test_any_string_on_the_bm25_path(surfer: Surfer, query: str) -> None:
    _check(surfer, query, RankConfig(dense=False))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(query=hostile)
def test_any_string_on_the_hybrid_path(surfer: Surfer, query: str) -> None:
    _check(surfer, query, RankConfig())


@pytest.mark.parametrize("seed", [1, 2])
def test_ten_kilobytes_of_noise(surfer: Surfer, seed: int) -> None:
    rng = random.Random(seed)
    noise = "".join(chr(rng.choice([rng.randrange(32, 0x2FFF), rng.randrange(0x4E00, 0x9FFF)]))
                    for _ in range(10_240))  # fmt: skip
    words = " ".join(rng.choice(["cod", "tide", "quota", "-", ":", '"']) for _ in range(2000))
    for q in (noise, words[:10_240], "(" * 10_240, "a:" * 5_000):
        for config in (RankConfig(dense=False), RankConfig()):
            assert isinstance(surfer.search(q, 5, config), list)


def test_query_syntax_is_never_interpreted(surfer: Surfer) -> None:
    bm25 = RankConfig(dense=False)
    for q, plain in [
        ('"cod stocks"', "cod stocks"),
        ("+cod -stocks", "cod stocks"),
        ("(cod) [stocks]^3", "cod stocks 3"),
        ("title:cod stocks~2", "title cod stocks 2"),
        ("cod AND stocks OR NOT tide", "cod and stocks or not tide"),
    ]:
        got = [h.passage_id for h in surfer.search(q, 3, bm25)]
        assert got == [h.passage_id for h in surfer.search(plain, 3, bm25)], q
