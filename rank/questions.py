"""Questions in words, told apart from keyword queries, and their content words.

Agents ask "How do I reclaim disk space after deleting rows?"; API lookups say
"VACUUM FULL".  BM25 matches a question's function words ("how", "do", "i") as if they
mattered, and short section headings full of them win; the dense model reads questions
well.  So the shipped pipeline gives a question's BM25 only its content words and weighs
its dense list three times (``RankConfig.question_stopwords``, ``question_dense_weight``).
"""

from __future__ import annotations

import re

_QUESTION_START = re.compile(
    r"^(how|what|why|when|where|which|who|whom|whose|can|could|should|would|does|do|did|"
    r"is|are|was|were|will|shall|may|might|must|has|have|had)\b",
    re.I,
)
_STOPWORDS = """a about above after again all also am an and any are as at be because been
before being below between both but by can could did do does doing done don down during each
else few for from further get gets getting had has have having he her here hers him his how i
if in into is it its itself just let lets like make me might more most must my no nor not now
of off on once only or other our ours out over own same shall she should so some such than
that the their theirs them then there these they this those through to too under until up use
using very want was way we were what when where which while who whom whose why will with would
you your yours"""
STOPWORDS = frozenset(_STOPWORDS.split())
QUESTION_BOOSTS = {"title": 1.0, "headings": 1.0, "text": 1.0}  # BM25 fields, for questions
QUESTION_WORDS = 6  # this many words read as a question even without a question word


def is_question(text: str) -> bool:
    """Whether a query is a question in words rather than a keyword lookup."""
    stripped = text.strip()
    if not stripped or re.search(r"[\u3400-\u9fff]", stripped):
        return False  # Chinese questions have no function words for BM25 to trip on
    return (
        stripped.endswith("?")
        or bool(_QUESTION_START.match(stripped))
        or len(stripped.split()) >= QUESTION_WORDS
    )


def content_words(words: list[str]) -> list[str]:
    """``words`` without function words; all of them when nothing else is left."""
    kept = [w for w in words if w.lower() not in STOPWORDS]
    return kept or words
