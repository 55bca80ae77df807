"""Chinese questions for BM25: segmented into words, function words dropped.

The index holds Chinese as overlapping character bigrams (``index.bm25.analyze``), so a
question sent as it is matches the bigrams that straddle its words as well: 如何用命令行
安装 asks for 何用, 用命 and 行安 besides 命令 and 安装, and pages that happen to hold
such pairs rise for nothing.  A question's Chinese runs are cut into words (jieba), the
function words go (question words, particles, pronouns, prepositions: what BM25 would
otherwise weigh as content, as ``questions.STOPWORDS`` does for English), and each kept
word is bigrammed on its own.  The index is unchanged: a word's bigrams are among the
text's.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

CJK_RUN = re.compile(r"[\u3400-\u9fff]+")

# Function words of Mandarin questions and instructions: interrogatives, modal and
# auxiliary verbs, particles, pronouns, prepositions and conjunctions, measure words.
_STOPWORDS = """如何 怎样 怎么 怎么样 怎么办 什么 为什么 为何 何时 哪 哪里 哪儿 哪个 哪些 哪种
几 多少 是否 能否 可否 有没有 是不是 吗 呢 吧 啊 呀 嘛 应该 应当 可以 能 能够 会 要 需要 想
得 的 地 了 着 过 和 与 及 以及 或 或者 还是 并 并且 而 而且 但 但是 把 被 给 对 对于 从 在 于
用 以 来 去 向 将 让 使 使得 通过 关于 我 你 您 他 她 它 我们 你们 他们 它们 自己 这 那 这个
那个 这些 那些 这样 那样 此 某 某个 某些 一个 一种 一下 一些 个 种 些 是 有 就 都 也 还 又
再 很 最 更 已经 之 其 其他 另 另一 另一个 时 时候 上 下 中 里 情况 情况下"""
STOPWORDS = frozenset(_STOPWORDS.split())

_lock = threading.Lock()
_jieba: Any = None


def _segmenter() -> Any:
    """jieba, loaded once on the first Chinese query (its dictionary takes about a second)."""
    global _jieba
    with _lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def has_chinese(text: str) -> bool:
    return CJK_RUN.search(text) is not None


def words(run: str) -> list[str]:
    """The content words of one run of Chinese characters; the run itself when every
    word is a function word."""
    cut = [w for w in _segmenter().lcut(run, HMM=True) if w.strip()]
    kept = [w for w in cut if w not in STOPWORDS]
    return kept or [run]


def bm25_text(text: str) -> str:
    """``text`` with each Chinese run replaced by its content words, space-separated, so
    that BM25's bigrams stay inside words; other text unchanged."""
    if not has_chinese(text):
        return text
    return CJK_RUN.sub(lambda m: f" {' '.join(words(m.group()))} ", text)
