"""A query in a language the embedding model does not cover goes to BM25 alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepdr.index.embed import model_languages
from stepdr.index.languages import card_languages, covers, query_language
from stepdr.rank import Surfer
from stepdr.rank.pipeline import RankConfig, pipeline

from .rankutil import GOV


def _card(tmp_path: Path, front: str) -> Path:
    (tmp_path / "README.md").write_text(f"---\n{front}\n---\n\n# A model\n", encoding="utf-8")
    return tmp_path


def test_languages_come_from_the_model_card(tmp_path: Path) -> None:
    assert model_languages(None) == ("en",)  # the bundled all-MiniLM-L6-v2
    assert card_languages(_card(tmp_path, "language:\n- en\n- zh\n- de-DE")) == ("en", "zh", "de")
    assert card_languages(_card(tmp_path, "language: multilingual")) is None
    assert card_languages(_card(tmp_path, "license: mit")) is None  # says nothing: all
    assert card_languages(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [("货币政策是什么", "zh"), ("日本の金融政策", "ja"), ("한국은행", "ko"), ("Центробанк", "ru"),
     ("lru_cache maxsize", None), ("VACUUM FULL 锁表吗", "zh")],
)  # fmt: skip
def test_query_language_by_script(text: str, lang: str | None) -> None:
    assert query_language(text) == lang


def test_coverage() -> None:
    assert covers(("en",), "write-ahead log") and not covers(("en",), "预写式日志")
    assert covers(None, "预写式日志") and covers(("en", "zh"), "预写式日志")
    assert not covers(("zh",), "write-ahead log") and covers((), "anything")


def test_an_uncovered_query_ranks_as_bm25_alone(surfer: Surfer) -> None:
    assert surfer.index.dense_languages == ("en",)
    hybrid = surfer.search("货币政策", 5)
    bm25 = surfer.search("货币政策", 5, pipeline("bm25"))
    assert [h.passage_id for h in hybrid] == [h.passage_id for h in bm25]
    assert hybrid[0].url == f"{GOV}/zh.html"
    assert all(h.scores.dense is None for h in hybrid)
    # A dense-only pipeline is an explicit choice: it still embeds the query.
    dense = surfer.search("货币政策", 5, RankConfig(bm25=False))
    assert dense and dense[0].scores.dense is not None
    # English queries still use both retrievers.
    assert any(h.scores.dense is not None for h in surfer.search("cod quotas", 5))
