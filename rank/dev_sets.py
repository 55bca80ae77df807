"""The development sets shipped with stepdr: questions with judged pages of the mirrors.

``docs-nl`` holds natural-language questions over the five documentation mirrors (what
agents send: goals and symptoms, not API names), each with the one page that answers it
and a phrase of that page's text.  ``handbook-zh`` holds Chinese questions over the
Chinese pages of the Debian Administrator's Handbook.  The known-item set
(``known_items.py``) is generated from the mirrors' Sphinx inventories instead; all of
them run under ``stepdr-index eval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from stepdr.core.errors import ConfigError

from .evaluate import EvalSet

DEV_SETS = {"docs-nl": "docs-nl.tsv", "handbook-zh": "handbook-zh.tsv"}


@dataclass(frozen=True)
class Judged:
    qid: str
    question: str
    url: str
    evidence: str  # a phrase of the judged page's text


def read_dev_set(name: str) -> list[Judged]:
    """The rows of a shipped set: ``id<TAB>question<TAB>page URL<TAB>evidence``."""
    if name not in DEV_SETS:
        raise ConfigError(f"unknown evaluation set {name!r}: choose from {', '.join(DEV_SETS)}")
    text = resources.files("stepdr.rank.evalsets").joinpath(DEV_SETS[name]).read_text("utf-8")
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or not all(f.strip() for f in fields):
            raise ConfigError(f"{DEV_SETS[name]}:{n}: expected 4 tab-separated fields")
        rows.append(Judged(*(f.strip() for f in fields)))
    return rows


def dev_set(name: str) -> EvalSet:
    rows = read_dev_set(name)
    return EvalSet({r.qid: r.question for r in rows}, {r.qid: {r.url: 1} for r in rows})
