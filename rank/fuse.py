"""Fusion of the BM25 and dense candidate lists, with the authority prior.

The ranking formula, for one query (knobs in ``RankConfig``):

    for each retriever i ∈ {bm25, dense} and each passage p in its top ``depth``
    (dense: only cosines ≥ ``min_cosine`` = 0.25; a vector always has nearest
    neighbours, and below that they are unrelated text, not weaker matches):
        s_i(p)    the retriever's score (BM25 score; cosine similarity)
        rel_i(p)  = s_i(p) / max_q s_i(q)                       relative score, 0..1
        π(p)      = 1 − β + β · authority(p)                    authority factor
                    (authority(p): p's prior for this query, ``prior.query_authority``)
        adj_i(p)  = rel_i(p) · π(p);  rank_i(p) = rank of p by adj_i in list i

    rrf (default):  fused(p) = Σ_i w_i / (k + rank_i(p))       k = ``rrf_k`` = 60
    weighted:       fused(p) = Σ_i w_i · adj_i(p) / Σ_i w_i    (absent from list i: 0)

    page evidence (``page_weight`` λ = 0.3, see ``page_evidence``):
    final(p) = fused(p) + λ · Σ_j 0.5^j · fused(q_j)   q_1, q_2: the next best
                                                       candidates of p's page
    title match (``title_match`` τ = 1, see ``rank/titles.py``):
    final(p) = final(p) · (1 + τ)   when the query is p's page title or one of its
                                    headings (case, punctuation, numbering aside)
    with a cross-encoder over the top ``cross_depth``:
    final(p) = (ce(p) / max_q ce(q)) · π(p), the rest following in fused order.

Ties go to the higher authority, then to the better BM25 rank.  ``w_i`` are
``bm25_weight`` and ``dense_weight``; β is ``authority_weight``.

Why the prior acts on each list before rank fusion: reciprocal-rank fusion
keeps ranks and drops score gaps, so after it a passage that is barely ahead
and one that is far ahead look alike, and no prior could leave "clearly better"
alone while deciding "comparable".  Relative scores keep the gap.  For weighted
fusion the two orders are the same formula (π factors out of the sum).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from .prior import adjust, prior_factor
from .results import Scores

RETRIEVERS = ("bm25", "dense")
FUSIONS = ("rrf", "weighted")


def fuse(
    lists: Mapping[str, Sequence[tuple[int, float]]],
    authority: Mapping[int, float],
    *,
    fusion: str = "rrf",
    rrf_k: int = 60,
    weights: Mapping[str, float] | None = None,
    authority_weight: float = 0.3,
) -> list[tuple[int, Scores]]:
    """All candidates of all lists, best first, each with its per-stage scores.

    ``lists`` maps a retriever name ("bm25" or "dense") to its (passage id,
    score) candidates, best first; ``authority`` maps passage ids to priors.
    """
    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    weights = weights or {}
    factors = {pid: prior_factor(a, authority_weight) for pid, a in authority.items()}
    partial: dict[int, dict[str, float | int]] = {}
    total_weight = 0.0
    for name, hits in lists.items():
        if name not in RETRIEVERS:
            raise ValueError(f"unknown retriever {name!r}")
        w = weights.get(name, 1.0)
        total_weight += w
        for row in adjust(hits, factors):
            d = partial.setdefault(row.pid, {"fused": 0.0})
            d[name] = row.raw
            d[f"{name}_rank"] = row.rank
            if fusion == "rrf":
                d["fused"] += w / (rrf_k + row.rank)
            else:
                d["fused"] += w * row.adjusted
    out = []
    for pid, d in partial.items():
        fused = float(d["fused"]) / (total_weight if fusion == "weighted" and total_weight else 1)
        a = authority.get(pid, 0.0)
        scores = Scores(
            bm25=_float(d.get("bm25")),
            bm25_rank=_int(d.get("bm25_rank")),
            dense=_float(d.get("dense")),
            dense_rank=_int(d.get("dense_rank")),
            authority=a,
            factor=factors.get(pid, 1.0),
            fused=fused,
            final=fused,
        )
        out.append((pid, scores))
    out.sort(key=sort_key)
    return out


def page_evidence(
    fused: Sequence[tuple[int, Scores]],
    page_of: Mapping[int, str],
    weight: float,
    passages: int = 3,
    decay: float = 0.5,
) -> list[tuple[int, Scores]]:
    """Each passage helped by the other good candidates of its page, then sorted again.

    A page that answers a question tends to match it in several passages; a stray
    sentence elsewhere matches in one.  So

        final(p) = fused(p) + weight · Σ_j decay^j · fused(q_j) · rel(q_j)

    where q_1, q_2, … are the candidates of p's page after its best one (``passages`` − 1
    of them), the same for every passage of the page, so a page's passages keep their
    order; rel(q) is q's best relative score in a retriever's list (score / the list's
    best).  Reciprocal ranks fall slowly (1/61 at rank 1, 1/110 at rank 50), so without
    rel a page of many weak matches would outweigh one strong match.
    """
    if weight <= 0:
        return list(fused)
    top_b = max((s.bm25 or 0.0 for _, s in fused), default=0.0)
    top_d = max((s.dense or 0.0 for _, s in fused), default=0.0)

    def rel(s: Scores) -> float:
        b = (s.bm25 or 0.0) / top_b if top_b > 0 else 0.0
        d = (s.dense or 0.0) / top_d if top_d > 0 else 0.0
        return max(0.0, b, d)

    by_page: dict[str, list[float]] = {}
    for pid, s in fused:  # fused is best first, so each page's list is too
        by_page.setdefault(page_of.get(pid, ""), []).append(s.final * rel(s))
    bonus = {
        page: weight * sum(x * decay**j for j, x in enumerate(found[1:passages]))
        for page, found in by_page.items()
    }
    out = []
    for pid, s in fused:
        extra = bonus[page_of.get(pid, "")]
        out.append((pid, replace(s, page=extra, final=s.final + extra)))
    out.sort(key=sort_key)
    return out


def rerank(
    fused: Sequence[tuple[int, Scores]], cross: Mapping[int, float]
) -> list[tuple[int, Scores]]:
    """The cross-encoded head (relative cross score × π), then the rest in fused order."""
    top = max(cross.values(), default=0.0)
    head = []
    tail = []
    for pid, s in fused:
        if pid in cross:
            rel = cross[pid] / top if top > 0 else 0.0
            head.append((pid, replace(s, cross=cross[pid], final=rel * s.factor)))
        else:
            tail.append((pid, replace(s, final=0.0)))
    head.sort(key=sort_key)
    return head + tail


def sort_key(item: tuple[int, Scores]) -> tuple[float, float, int, int]:
    pid, s = item
    return (-s.final, -s.authority, s.bm25_rank or 1 << 30, pid)


def _float(v: float | int | None) -> float | None:
    return None if v is None else float(v)


def _int(v: float | int | None) -> int | None:
    return None if v is None else int(v)
