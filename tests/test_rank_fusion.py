"""Fusion, the authority prior and diversity caps, on hand-made candidate lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from stepdr.core.errors import ConfigError
from stepdr.index.records import Passage
from stepdr.rank.cross import CrossEncoderReranker, to_unit
from stepdr.rank.fuse import fuse, page_evidence, rerank
from stepdr.rank.pipeline import RankConfig, clean_query, pipeline, query_words, rank_batch
from stepdr.rank.prior import adjust, prior_factor, relative
from stepdr.rank.questions import QUESTION_BOOSTS


def test_rrf_is_the_sum_of_reciprocal_ranks() -> None:
    lists = {"bm25": [(1, 9.0), (2, 5.0), (3, 1.0)], "dense": [(3, 0.9), (1, 0.8)]}
    out = dict(fuse(lists, {}, authority_weight=0.0))
    assert out[1].fused == pytest.approx(1 / 61 + 1 / 62)
    assert out[2].fused == pytest.approx(1 / 62)
    assert out[3].fused == pytest.approx(1 / 63 + 1 / 61)
    assert (out[1].bm25, out[1].bm25_rank, out[1].dense_rank) == (9.0, 1, 2)
    assert out[2].dense is None and out[2].dense_rank is None
    assert [pid for pid, _ in fuse(lists, {}, authority_weight=0.0)] == [1, 3, 2]


def test_weighted_fusion_of_relative_scores() -> None:
    lists = {"bm25": [(1, 10.0), (2, 5.0)], "dense": [(2, 0.8), (1, 0.4)]}
    out = dict(fuse(lists, {}, fusion="weighted", weights={"bm25": 3.0, "dense": 1.0},
                    authority_weight=0.0))  # fmt: skip
    assert out[1].fused == pytest.approx((3 * 1.0 + 1 * 0.5) / 4)
    assert out[2].fused == pytest.approx((3 * 0.5 + 1 * 1.0) / 4)
    with pytest.raises(ValueError, match="fusion"):
        fuse(lists, {}, fusion="borda")


def test_prior_factor_and_relative_scores() -> None:
    assert prior_factor(1.0, 0.3) == 1.0
    assert prior_factor(0.4, 0.3) == pytest.approx(0.82)
    assert prior_factor(0.2, 0.0) == 1.0
    assert prior_factor(7.0, 0.3) == 1.0  # clamped
    assert relative([4.0, 2.0, -1.0]) == [1.0, 0.5, 0.0]
    assert relative([0.0, 0.0]) == [0.0, 0.0]


def test_authority_breaks_near_ties_but_not_clear_wins() -> None:
    weak, strong = {10: 0.4}, {20: 1.0}
    near = adjust([(10, 8.0), (20, 7.9)], {10: 0.82, 20: 1.0})
    assert [r.pid for r in near] == [20, 10]
    clear = adjust([(10, 12.0), (20, 5.0)], {10: 0.82, 20: 1.0})
    assert [r.pid for r in clear] == [10, 20]
    for fusion in ("rrf", "weighted"):
        lists = {"bm25": [(10, 8.0), (20, 7.9)], "dense": [(10, 0.71), (20, 0.70)]}
        assert fuse(lists, weak | strong, fusion=fusion)[0][0] == 20
        assert fuse(lists, weak | strong, fusion=fusion, authority_weight=0.0)[0][0] == 10
        lists = {"bm25": [(10, 12.0), (20, 5.0)], "dense": [(10, 0.8), (20, 0.45)]}
        assert fuse(lists, weak | strong, fusion=fusion)[0][0] == 10


def test_equal_scores_go_to_the_stronger_source() -> None:
    lists = {"bm25": [(1, 5.0), (2, 5.0)]}
    assert [pid for pid, _ in fuse(lists, {1: 0.2, 2: 0.8}, authority_weight=0.0)] == [1, 2]
    assert [pid for pid, _ in fuse(lists, {1: 0.2, 2: 0.8})] == [2, 1]


def test_cross_encoder_rerank_keeps_the_prior() -> None:
    fused = fuse({"bm25": [(1, 9.0), (2, 8.0), (3, 7.0)]}, {1: 1.0, 2: 1.0, 3: 0.2})
    out = rerank(fused, {1: 0.2, 2: 0.9})
    assert [pid for pid, _ in out] == [2, 1, 3]
    assert out[0][1].cross == 0.9 and out[0][1].final == pytest.approx(1.0)
    assert out[2][1].cross is None and out[2][1].final == 0.0
    assert to_unit([0.2, 0.9]) == [0.2, 0.9]
    assert to_unit([-2.0, 3.0])[1] == pytest.approx(0.9526, abs=1e-4)


def _p(pid: int, url: str, domain: str, text: str, authority: float = 1.0) -> Passage:
    return Passage(pid, f"web_{pid:08x}", url, domain, "T", (), pid, text, authority, 1, "2024")


class FakeIndex:
    """A Retrieval with fixed candidate lists, to test the pipeline around them."""

    has_dense = True

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.by_id = {p.id: p for p in passages}
        self.encode_calls = 0

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        return [(pid, 10.0 - i * 0.1) for i, pid in enumerate(sorted(self.by_id))][:k]

    def bm25_search_many(
        self, requests: Sequence[tuple[str, Mapping[str, float] | None]], k: int
    ) -> list[list[tuple[int, float]]]:
        return [self.bm25_search(q, k, b) for q, b in requests]

    @property
    def site_names(self) -> dict[str, list[str]]:
        return {}

    def dense_covers(self, query: str) -> bool:
        return True

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        self.encode_calls += 1
        return [[(pid, 0.9 - i * 0.01) for i, pid in enumerate(sorted(self.by_id))][:k]
                for _ in queries]  # fmt: skip

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        return {i: self.by_id[i] for i in ids if i in self.by_id}


def test_diversity_caps_per_page_and_domain_and_drops_repeats() -> None:
    ps = [_p(i, f"https://a.org/{i // 3}", "a.org", f"text number {i}") for i in range(9)]
    ps += [_p(100 + i, f"https://b.org/{i}", "b.org", f"other text {i}") for i in range(3)]
    ps.append(_p(200, "https://c.org/x", "c.org", "Text   number 0!"))  # a repeat of passage 0
    index = FakeIndex(ps)
    (rows,) = rank_batch(index, ["text"], RankConfig(per_page=2, per_domain=3), 20)
    head = rows[:6]  # the passages within the caps come first
    urls = [r.passage.url for r in head]
    assert max(urls.count(u) for u in urls) <= 2
    domains = [r.passage.domain for r in head]
    assert domains.count("a.org") == 3 and domains.count("b.org") == 3
    assert 200 not in [r.passage.id for r in rows]
    # The rest are demoted, not dropped: the list is as long as the distinct candidates.
    assert len(rows) == 12 and {r.passage.domain for r in rows[6:]} == {"a.org"}
    assert [r.passage.id for r in rows[6:]] == sorted(r.passage.id for r in rows[6:])
    (short,) = rank_batch(index, ["text"], RankConfig(per_page=2, per_domain=3), 4)
    assert len(short) == 4 and [r.passage.id for r in short] == [r.passage.id for r in rows[:4]]
    (uncapped,) = rank_batch(index, ["text"], RankConfig(per_page=0, per_domain=0), 20)
    assert len(uncapped) == 12  # the repeat is never shown, caps or not


def test_one_embedding_call_per_batch() -> None:
    index = FakeIndex([_p(i, f"https://a.org/{i}", "a.org", f"t {i}") for i in range(5)])
    out = rank_batch(index, ["a", "b", "c", "?!"], RankConfig(), 3)
    assert index.encode_calls == 1
    assert [len(r) for r in out] == [3, 3, 3, 0]  # no words: nothing to look for


def test_query_cleaning() -> None:
    assert clean_query("a\x00b\ud800c") == "a b\ufffdc"
    assert query_words('title:"x" AND -y [z] OR (w)*') == ["title", "x", "and", "y", "z", "or", "w"]
    assert len(query_words(" ".join(f"w{i}" for i in range(500)))) == 64
    assert query_words("货币政策") == ["货币", "币政", "政策"]


def test_named_pipelines() -> None:
    assert pipeline("bm25") == RankConfig(
        dense=False, authority_weight=0.0, page_weight=0.0, title_match=0.0
    )
    assert pipeline("hybrid+authority").page_weight == 0.0
    assert pipeline("dense").bm25 is False
    assert pipeline("hybrid").authority_weight == 0.0
    assert pipeline("hybrid+authority").authority_weight == 0.3
    assert pipeline("hybrid+authority+cross", RankConfig(cross_encoder="m")).cross_encoder == "m"
    with pytest.raises(ConfigError, match="no cross-encoder"):
        pipeline("hybrid+cross")
    with pytest.raises(ConfigError, match="unknown pipeline"):
        pipeline("splade")
    with pytest.raises(ConfigError):
        RankConfig(bm25=False, dense=False)
    with pytest.raises(ConfigError):
        RankConfig(authority_weight=2.0)


class ReverseReranker:
    """Prefers the passages the retrievers liked least: shows the rerank took effect."""

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        return [(i + 1) / len(texts) for i in range(len(texts))]


def test_cross_encoder_stage_in_the_pipeline(tmp_path: Path) -> None:
    ps = [_p(i, f"https://a.org/{i}", "a.org", f"passage {i}") for i in range(6)]
    config = RankConfig(per_page=0, per_domain=0, cross_depth=4)
    (rows,) = rank_batch(FakeIndex(ps), ["passage"], config, 6, ReverseReranker())
    assert [r.passage.id for r in rows] == [3, 2, 1, 0, 4, 5]
    assert rows[0].scores.cross == 1.0 and rows[-1].scores.cross is None
    with pytest.raises(ConfigError, match="never downloaded"):
        CrossEncoderReranker(tmp_path / "no-model")


def test_questions_are_told_from_keyword_queries() -> None:
    from stepdr.rank.questions import content_words, is_question

    questions = (
        "How do I reclaim disk space?",
        "why does VACUUM FULL lock the table",
        "vacuum full locks the whole table for the rewrite",
        "Is WAL on by default?",
    )
    for q in questions:
        assert is_question(q), q
    for q in (
        "VACUUM FULL",
        "lru_cache maxsize",
        "sqlite3_open_v2",
        "怎样设置每天定时运行的任务？",
    ):
        assert not is_question(q), q
    assert content_words(["how", "do", "i", "reclaim", "disk", "space"]) == [
        "reclaim", "disk", "space",
    ]  # fmt: skip
    assert content_words(["how", "do", "i"]) == ["how", "do", "i"]  # nothing else: keep all


class RecordingIndex(FakeIndex):
    def __init__(self, passages: Sequence[Passage]) -> None:
        super().__init__(passages)
        self.bm25_queries: list[str] = []
        self.bm25_boosts: list[Mapping[str, float] | None] = []

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]:
        self.bm25_queries.append(query)
        self.bm25_boosts.append(boosts)
        return super().bm25_search(query, k)


def test_question_knobs_reach_bm25_and_fusion() -> None:
    index = RecordingIndex([_p(i, f"https://a.org/{i}", "a.org", f"t {i}") for i in range(6)])
    question, lookup = "How do I reclaim disk space?", "reclaim disk space"
    rank_batch(index, [question, lookup], RankConfig(question_stopwords=False), 3)
    assert index.bm25_queries == ["how do i reclaim disk space", "reclaim disk space"]
    index.bm25_queries.clear()
    config = RankConfig(authority_weight=0)  # the shipped knobs: content words, dense 3x
    rows_q, rows_k = rank_batch(index, [question, lookup], config, 3)
    assert index.bm25_queries == ["reclaim disk space", "reclaim disk space"]
    assert index.bm25_boosts[-2:] == [QUESTION_BOOSTS, None]  # fields alike for the question
    # The same lists fused: the question's dense list weighs three times as much.
    assert rows_q[0].scores.fused > rows_k[0].scores.fused
    with pytest.raises(ConfigError, match="weights"):
        RankConfig(question_dense_weight=-1.0)


def test_page_evidence_lifts_a_page_that_matches_in_several_passages() -> None:
    # Page a/ has the best single passage; page b/ matches in three passages just below it.
    fused = fuse({"bm25": [(1, 10.0), (2, 9.9), (3, 9.8), (4, 9.7)]}, {}, authority_weight=0)
    urls = {1: "a/", 2: "b/", 3: "b/", 4: "b/"}
    out = page_evidence(fused, urls, 0.3)
    order = [pid for pid, _ in out]
    assert order[0] == 2 and order.index(1) > 0
    top = out[0][1]
    rel = {pid: s.bm25 / 10.0 for pid, s in fused if s.bm25}  # relative to the best, 10.0
    assert top.page == pytest.approx(
        0.3 * (fused[2][1].fused * rel[3] + 0.5 * fused[3][1].fused * rel[4])
    )
    assert top.final == pytest.approx(top.fused + top.page)
    assert dict(out)[1].page == 0.0  # alone on its page: nothing added
    assert dict(out)[3].page == top.page  # one bonus per page: its passages keep their order
    assert order.index(2) < order.index(3) < order.index(4)
    assert page_evidence(fused, urls, 0.0) == fused
    # Only the page's next two passages count: a fourth adds nothing more.
    more = page_evidence([*fused, (5, replace(fused[3][1], final=0.001))], urls | {5: "b/"}, 0.3)
    assert dict(more)[2].page == pytest.approx(top.page)
    with pytest.raises(ConfigError, match="page weight"):
        RankConfig(page_weight=1.5)


class NamedSitesIndex(FakeIndex):
    @property
    def site_names(self) -> dict[str, list[str]]:
        return {"b.org": ["Bee"], "c.org": ["U.S. Sea"]}


def test_a_query_naming_a_site_leans_to_it() -> None:
    # a.org's passage is a little ahead in both lists; b.org is called "Bee".
    index = NamedSitesIndex(
        [_p(0, "https://a.org/x", "a.org", "x"), _p(1, "https://b.org/x", "b.org", "x")]
    )

    def first(query: str, config: RankConfig | None = None) -> str:
        return rank_batch(index, [query], config or RankConfig(), 2)[0][0].passage.domain

    assert first("How do I tune x?") == "a.org"
    assert first("How do I tune x in Bee?") == "b.org"
    assert first("How do I tune x in beehive?") == "a.org"  # a whole word, not a part
    assert first("How do I tune x in Bee?", RankConfig(named_site_factor=1.0)) == "a.org"
    with pytest.raises(ConfigError, match="named-site"):
        RankConfig(named_site_factor=2.0)


def test_site_names_from_entry_names() -> None:
    from stepdr.index.site_names import subject

    assert subject("Django 3.2 documentation") == "Django"
    assert subject("SQLite documentation") == "SQLite"
    assert subject("The White House") == "White House"
    assert subject("U.S. Department of the Treasury") == "U.S. Department of the Treasury"
    assert subject("Scrapy 2.8 docs (English)") == "Scrapy"
    assert subject("Go documentation") is None  # "go" is an ordinary word
