"""The ranking pipeline: candidates, fusion with the authority prior, rerank, diversity.

``RankConfig`` holds every knob; ``rank_batch`` runs a batch of queries through
one configuration against anything that implements ``Retrieval`` (the
``Surfer`` does, over an index version).  The formula is in ``stepdr.rank.fuse``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from stepdr.core.errors import ConfigError
from stepdr.index.bm25 import query_terms
from stepdr.index.records import Passage, passage_context, same_text_key

from . import chinese
from .cross import Reranker
from .fuse import FUSIONS, fuse, page_evidence, rerank
from .prior import query_authority, site_matcher
from .questions import QUESTION_BOOSTS, content_words, is_question
from .results import Scores
from .titles import title_match

MAX_TERMS = 64  # distinct query words sent to BM25: more only slow it down
DENSE_CHARS = 2000  # the embedding model reads ~128 tokens; the rest is never seen
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_DEFINE_FLAG = re.compile(r"(?<![\w-])-D([A-Za-z_]\w*)")


@dataclass(frozen=True)
class RankConfig:
    """Knobs of one ranking pipeline; the defaults are the shipped hybrid+authority+page+title."""

    bm25: bool = True
    dense: bool = True  # used when the index version has vectors
    fusion: str = "rrf"  # "rrf" or "weighted"
    rrf_k: int = 60
    bm25_weight: float = 1.0
    dense_weight: float = 1.0
    authority_weight: float = 0.3  # β: 0 turns the prior off
    depth: int = 50  # candidates taken from each retriever (at least topk)
    min_cosine: float = 0.25  # dense candidates below it are unrelated, not "less relevant"
    per_page: int = 2  # passages of one page before others are demoted (0: no cap)
    per_domain: int = 5  # passages of one domain before others are demoted (0: no cap)
    # A question in words (rank/questions.py): BM25 sees only its content words and the
    # dense list weighs 3x in fusion.  On the full mirrors this took docs-nl questions from
    # 0.469 to 0.568 MRR@10 (dense alone 0.522) and kept known items at 0.788 (bm25 0.771).
    question_stopwords: bool = True
    question_dense_weight: float | None = 3.0  # None: dense_weight, as for any query
    # A question's BM25 weighs title, headings and text alike: the 2.0 heading boost
    # made short headings win on the words of the question ("how", "use").
    question_boosts: bool = True
    named_site_factor: float = 0.5  # prior of other sites' passages when a query names sites
    page_weight: float = 0.3  # λ of page evidence for questions (fuse.page_evidence); 0: off
    # A query that is a page's title or a section's heading names it (rank/titles.py).
    # On the full mirrors it took Sphinx known items from 0.793 to 0.836 MRR@10 and
    # PostgreSQL's book index from 0.670 to 0.694; questions never equal a title.
    title_match: float = 1.0  # its passages' scores × (1 + this); 0: off
    cross_encoder: str | None = None  # local CrossEncoder directory
    cross_depth: int = 50  # fused candidates the cross-encoder rescores

    def __post_init__(self) -> None:
        if not (self.bm25 or self.dense):
            raise ConfigError("a pipeline needs at least one retriever (bm25 or dense)")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if not 0.0 <= self.authority_weight <= 1.0:
            raise ConfigError(f"authority weight must be in [0, 1], got {self.authority_weight}")
        if self.rrf_k < 1 or self.depth < 1 or self.cross_depth < 1:
            raise ConfigError("rrf_k, depth and cross_depth must be positive")
        if self.per_page < 0 or self.per_domain < 0:
            raise ConfigError("per-page and per-domain caps must be >= 0 (0: no cap)")
        if not -1.0 <= self.min_cosine <= 1.0:
            raise ConfigError(f"min cosine must be in [-1, 1], got {self.min_cosine}")
        if not 0.0 <= self.named_site_factor <= 1.0:
            raise ConfigError(f"named-site factor must be in [0, 1], got {self.named_site_factor}")
        if not 0.0 <= self.page_weight <= 1.0:
            raise ConfigError(f"page weight must be in [0, 1], got {self.page_weight}")
        if not 0.0 <= self.title_match <= 10.0:
            raise ConfigError(f"title match must be in [0, 10], got {self.title_match}")
        if self.bm25_weight < 0 or self.dense_weight < 0 or (self.question_dense_weight or 0) < 0:
            raise ConfigError("retriever weights must be >= 0")


PIPELINES = (
    "bm25", "dense", "hybrid", "hybrid+authority", "hybrid+authority+page",
    "hybrid+authority+page+title",
)  # fmt: skip
SHIPPED = PIPELINES[-1]


def pipeline(name: str, base: RankConfig | None = None) -> RankConfig:
    """A named pipeline of the evaluation grid, with ``base``'s other knobs.

    "bm25", "dense", "hybrid" (both, no prior), "hybrid+authority", and
    "hybrid+authority+page" (with page evidence for questions), and
    "hybrid+authority+page+title" (with exact title matches: the shipped pipeline); a
    "+cross" suffix adds the cross-encoder configured in ``base``.  Each row adds one
    stage to the one before.
    """
    base = base or RankConfig()
    stem, cross = (name[: -len("+cross")], True) if name.endswith("+cross") else (name, False)
    if cross and not base.cross_encoder:
        raise ConfigError(f"pipeline {name}: no cross-encoder configured")
    beta = base.authority_weight if base.authority_weight > 0 else RankConfig.authority_weight
    lam = base.page_weight if base.page_weight > 0 else RankConfig.page_weight
    tm = base.title_match if base.title_match > 0 else RankConfig.title_match
    plain = replace(base, page_weight=0.0, title_match=0.0)
    shapes = {
        "bm25": replace(plain, bm25=True, dense=False, authority_weight=0.0),
        "dense": replace(plain, bm25=False, dense=True, authority_weight=0.0),
        "hybrid": replace(plain, bm25=True, dense=True, authority_weight=0.0),
        "hybrid+authority": replace(plain, bm25=True, dense=True, authority_weight=beta),
        "hybrid+authority+page": replace(
            plain, bm25=True, dense=True, authority_weight=beta, page_weight=lam
        ),
        "hybrid+authority+page+title": replace(
            base, bm25=True, dense=True, authority_weight=beta, page_weight=lam, title_match=tm
        ),
    }
    if stem not in shapes:
        raise ConfigError(f"unknown pipeline {name!r}: choose from {', '.join(PIPELINES)}")
    return replace(shapes[stem], cross_encoder=base.cross_encoder if cross else None)


class Retrieval(Protocol):
    """What the pipeline needs from an index version."""

    @property
    def has_dense(self) -> bool: ...

    @property
    def site_names(self) -> Mapping[str, Sequence[str]]:
        """Per site key, the names a query would use for it (the manifest's ``sites``)."""
        ...

    def dense_covers(self, query: str) -> bool:
        """Whether the dense model knows the query's language (else BM25 alone)."""
        ...

    def bm25_search(
        self, query: str, k: int, boosts: Mapping[str, float] | None = None
    ) -> list[tuple[int, float]]: ...

    def bm25_search_many(
        self, requests: Sequence[tuple[str, Mapping[str, float] | None]], k: int
    ) -> list[list[tuple[int, float]]]:
        """``bm25_search`` of each (query, boosts), in order: one call for a batch, so a
        sharded index asks each shard once."""
        ...

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]: ...

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]: ...


@dataclass(frozen=True)
class Ranked:
    passage: Passage
    scores: Scores


def clean_query(query: str) -> str:
    """The text of a query that every later stage can digest.

    Lone surrogates (valid in a Python str and in JSON, not in UTF-8) become
    U+FFFD and control characters spaces, so Rust, SQLite and the tokenizer
    never see them.
    """
    return _CONTROL.sub(" ", _SURROGATE.sub("\ufffd", query)).strip()


def query_words(query: str) -> list[str]:
    """The query as plain distinct words, at most ``MAX_TERMS``: no syntax survives.

    A compiler flag that defines a name ("-DSQLITE_OMIT_WAL") also asks for the name:
    pages document ``SQLITE_OMIT_WAL``, and the tokenizer reads the flag as one word,
    ``dsqlite_omit_wal``, that only an index of flags contains."""
    return list(dict.fromkeys(query_terms(_DEFINE_FLAG.sub(r"\g<0> \1", query))))[:MAX_TERMS]


def rank_batch(
    index: Retrieval,
    queries: Sequence[str],
    config: RankConfig,
    depth: int,
    reranker: Reranker | None = None,
) -> list[list[Ranked]]:
    """Per query, up to ``depth`` passages best first, diversity caps applied."""
    texts = [clean_query(q) for q in queries]
    words = [query_words(t) for t in texts]
    k = max(config.depth, depth)
    use_dense = config.dense and index.has_dense
    live = [i for i, w in enumerate(words) if w]  # no words: nothing to look for
    # A language the embedding model never saw would rank by noise: BM25 answers alone.
    embed = [i for i in live if index.dense_covers(texts[i])] if config.bm25 else live
    dense_lists: dict[int, list[tuple[int, float]]] = {}
    if use_dense and embed:
        found = index.dense_search([texts[i][:DENSE_CHARS] for i in embed], k)
        dense_lists = dict(zip(embed, found, strict=True))
    questions = [is_question(t) for t in texts]
    lists: dict[int, dict[str, list[tuple[int, float]]]] = {i: {} for i in live}
    if config.bm25 and live:
        requests = []
        for i in live:
            q = questions[i]
            if config.question_stopwords and chinese.has_chinese(texts[i]):
                terms = query_words(chinese.bm25_text(texts[i]))
            elif q and config.question_stopwords:
                terms = content_words(words[i])
            else:
                terms = words[i]
            requests.append(
                (" ".join(terms), QUESTION_BOOSTS if q and config.question_boosts else None)
            )
        for i, hits in zip(live, index.bm25_search_many(requests, k), strict=True):
            lists[i]["bm25"] = hits
    for i, hits in dense_lists.items():
        lists[i]["dense"] = [(pid, c) for pid, c in hits if c >= config.min_cosine]
    # One lookup for the batch's candidates: a sharded index asks each shard once.
    every = dict.fromkeys(pid for per in lists.values() for h in per.values() for pid, _ in h)
    found_passages = index.passages(list(every))
    sites = site_matcher(index.site_names) if config.named_site_factor < 1 else None
    out: list[list[Ranked]] = []
    for i, text in enumerate(texts):
        if not words[i]:
            out.append([])
            continue
        question = questions[i]
        ids = dict.fromkeys(pid for hits in lists[i].values() for pid, _ in hits)
        passages = {pid: found_passages[pid] for pid in ids if pid in found_passages}
        named = sites.named(text) if sites is not None else frozenset()
        authority = {
            pid: query_authority(p, text, named, config.named_site_factor)
            for pid, p in passages.items()
        }
        fused = fuse(
            lists[i],
            authority,
            fusion=config.fusion,
            rrf_k=config.rrf_k,
            weights={"bm25": config.bm25_weight, "dense": _dense_weight(config, question)},
            authority_weight=config.authority_weight,
        )
        fused = [(pid, s) for pid, s in fused if pid in passages]
        if question:  # a known item names one place: many matching passages say less
            urls = {pid: passages[pid].url for pid, _ in fused}
            fused = page_evidence(fused, urls, config.page_weight)
        fused = title_match(fused, passages, text, config.title_match)
        if reranker is not None and fused:
            head = fused[: config.cross_depth]
            ce = reranker.score(text, [passage_context(passages[pid]) for pid, _ in head])
            fused = rerank(fused, {pid: c for (pid, _), c in zip(head, ce, strict=True)})
        ranked = [(passages[pid], s) for pid, s in fused]
        out.append(diversify(ranked, depth, config.per_page, config.per_domain))
    return out


def _dense_weight(config: RankConfig, question: bool) -> float:
    if question and config.question_dense_weight is not None:
        return config.question_dense_weight
    return config.dense_weight


def diversify(
    ranked: Sequence[tuple[Passage, Scores]], limit: int, per_page: int, per_domain: int
) -> list[Ranked]:
    """The first ``limit`` passages, repeated text dropped, and diversity by demotion:
    a passage past its page's or domain's cap moves below every passage within the caps,
    in its own order, so a list is only short when the candidates run out."""
    seen: set[str] = set()
    pages: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    out: list[Ranked] = []
    demoted: list[Ranked] = []
    for p, scores in ranked:
        key = same_text_key(p.text)
        if key in seen:
            continue
        seen.add(key)
        over = (per_page and pages[p.url] >= per_page) or (
            per_domain and domains[p.domain] >= per_domain
        )
        if over:
            demoted.append(Ranked(p, scores))
            continue
        pages[p.url] += 1
        domains[p.domain] += 1
        out.append(Ranked(p, scores))
        if len(out) == limit:
            break
    return (out + demoted)[:limit]
