"""Chinese questions reach BM25 as their content words, each bigrammed on its own."""

from __future__ import annotations

from stepdr.index.bm25 import query_terms
from stepdr.rank import chinese


def test_function_words_and_straddling_bigrams_are_gone() -> None:
    text = chinese.bm25_text("如何用命令行安装和删除软件包？")
    terms = query_terms(text)
    assert {"命令", "令行", "安装", "删除", "软件", "件包"} <= set(terms)
    # 如何 is a question word; 何用, 用命, 行安 and 装和 straddle words
    assert not {"如何", "何用", "用命", "行安", "装和", "和删"} & set(terms)


def test_other_text_is_left_alone() -> None:
    assert chinese.bm25_text("VACUUM FULL locks the table") == "VACUUM FULL locks the table"
    mixed = query_terms(chinese.bm25_text("怎样用 dpkg 安装一个 .deb 文件？"))
    assert "dpkg" in mixed and "deb" in mixed and "安装" in mixed and "文件" in mixed
    assert "一个" not in mixed


def test_a_run_of_function_words_only_is_kept_whole() -> None:
    assert chinese.words("怎么样") == ["怎么样"]
