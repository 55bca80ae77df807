"""Retrieval evaluation: queries and judgments in BEIR or TREC form, a grid of
pipelines, nDCG@10, MRR@10 and Recall@100 per pipeline, TREC run files.

Judged documents are page URLs, cite ids (``web_…``) or passage ids; a ranked
passage list is scored at the judgments' granularity, a page counting at the
rank of its best passage.  Metrics follow trec_eval: linear gains for nDCG,
queries without a relevant judgment left out.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from stepdr.core.errors import ConfigError

from .pipeline import RankConfig, Ranked, pipeline
from .surfer import Surfer

Qrels = dict[str, dict[str, int]]
EVAL_DEPTH = 100  # documents per query in a run
CHUNK = 64  # queries per batch (one embedding call each)


@dataclass(frozen=True)
class EvalSet:
    queries: dict[str, str]
    qrels: Qrels


@dataclass(frozen=True)
class Metrics:
    pipeline: str
    queries: int
    ndcg10: float
    mrr10: float
    recall100: float
    seconds: float


def read_queries(path: Path) -> dict[str, str]:
    """BEIR queries.jsonl ({"_id", "text"}), TSV (id<TAB>text), or TREC topics (<top>)."""
    text = path.read_text(encoding="utf-8")
    if "<top>" in text:
        out = {}
        for block in re.findall(r"<top>(.*?)</top>", text, re.S):
            num = re.search(r"<num>\s*(?:Number:)?\s*(\S+)", block)
            title = re.search(r"<title>\s*(?:Topic:)?\s*(.*?)\s*(?:<|$)", block, re.S)
            if num and title:
                out[num.group(1)] = " ".join(title.group(1).split())
        return out
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            row = json.loads(line)
            out[str(row["_id"])] = str(row["text"])
            continue
        qid, sep, query = line.partition("\t")
        if not sep:
            raise ConfigError(f"{path}:{n}: expected 'id<TAB>query', a JSON line or TREC topics")
        out[qid.strip()] = query.strip()
    return out


def read_qrels(path: Path) -> Qrels:
    """TREC qrels (qid iter doc rel) or BEIR TSV (query-id corpus-id score, with header)."""
    out: Qrels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] == "query-id":
            continue
        if len(parts) == 4:
            qid, _, doc, rel = parts
        elif len(parts) == 3:
            qid, doc, rel = parts
        else:
            raise ConfigError(f"{path}:{n}: expected 'qid 0 doc rel' or 'qid doc rel'")
        try:
            out.setdefault(qid, {})[doc] = int(float(rel))
        except ValueError:
            raise ConfigError(f"{path}:{n}: relevance {rel!r} is not a number") from None
    return out


def read_beir(directory: Path, split: str = "test") -> EvalSet:
    qrels = directory / "qrels" / f"{split}.tsv"
    if not qrels.is_file():
        raise ConfigError(f"{directory}: no qrels/{split}.tsv (a BEIR data set?)")
    return EvalSet(read_queries(directory / "queries.jsonl"), read_qrels(qrels))


def granularity(qrels: Qrels) -> str:
    docs = [d for judged in qrels.values() for d in judged]
    if docs and all(d.startswith(("http://", "https://")) for d in docs):
        return "url"
    if docs and all(re.fullmatch(r"web_[0-9a-f]{8}", d) for d in docs):
        return "cite"
    return "passage"


def doc_ids(ranked: Sequence[Ranked], level: str, depth: int = EVAL_DEPTH) -> list[str]:
    """Distinct document ids in rank order, at the judgments' granularity."""
    out: dict[str, None] = {}
    for r in ranked:
        p = r.passage
        key = p.url if level == "url" else p.cite_id if level == "cite" else str(p.id)
        out.setdefault(key)
        if len(out) == depth:
            break
    return list(out)


def ndcg(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((r for r in judged.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranking[:k]) if judged.get(d, 0) > 0), 0.0)


def recall(ranking: Sequence[str], judged: Mapping[str, int], k: int = 100) -> float:
    relevant = {d for d, r in judged.items() if r > 0}
    return len(relevant & set(ranking[:k])) / len(relevant) if relevant else 0.0


def answerable(surfer: Surfer, data: EvalSet) -> EvalSet:
    """The queries with a relevant page in the index, judged under the URL the index
    holds it by (URL judgments only): a partial crawl is no ranking failure."""
    if granularity(data.qrels) != "url":
        return data
    keep: Qrels = {}
    for qid, judged in data.qrels.items():
        stored = {}
        for url, rel in judged.items():
            found = surfer.page(url)
            stored[found[0].url if found else url] = rel
        if qid in data.queries and any(r > 0 and surfer.page(u) for u, r in stored.items()):
            keep[qid] = stored
    return EvalSet({q: data.queries[q] for q in keep}, keep)


def evaluate(
    surfer: Surfer,
    data: EvalSet,
    names: Sequence[str],
    base: RankConfig | None = None,
    runs_dir: Path | None = None,
) -> list[Metrics]:
    """One Metrics row per pipeline; a TREC run file per pipeline in ``runs_dir``."""
    level = granularity(data.qrels)
    qids = sorted(q for q in data.queries if any(r > 0 for r in data.qrels.get(q, {}).values()))
    if not qids:
        raise ConfigError("no query has a relevant judgment")
    base = base or RankConfig()
    # Page-level runs need a hundred distinct pages: take more passages, no caps.
    depth = EVAL_DEPTH if level == "passage" else EVAL_DEPTH * 3
    base = replace(base, depth=max(base.depth, depth), per_page=0, per_domain=0)
    rows = []
    for name in names:
        config = pipeline(name, base)
        start = time.perf_counter()
        rankings: dict[str, list[str]] = {}
        scores: dict[str, list[float]] = {}
        for i in range(0, len(qids), CHUNK):
            chunk = qids[i : i + CHUNK]
            ranked = surfer.rank([data.queries[q] for q in chunk], depth, config)
            for qid, rows_ in zip(chunk, ranked, strict=True):
                rankings[qid] = doc_ids(rows_, level)
                best: dict[str, float] = {}
                for r in rows_:
                    p = r.passage
                    key = p.url if level == "url" else p.cite_id if level == "cite" else str(p.id)
                    best.setdefault(key, r.scores.final)
                scores[qid] = [best[d] for d in rankings[qid]]
        seconds = time.perf_counter() - start
        n = len(qids)
        rows.append(
            Metrics(
                name,
                n,
                sum(ndcg(rankings[q], data.qrels[q]) for q in qids) / n,
                sum(mrr(rankings[q], data.qrels[q]) for q in qids) / n,
                sum(recall(rankings[q], data.qrels[q]) for q in qids) / n,
                seconds,
            )
        )
        if runs_dir is not None:
            write_run(runs_dir / f"{name.replace('+', '_')}.run", name, rankings, scores)
    return rows


def write_run(
    path: Path,
    tag: str,
    rankings: Mapping[str, Sequence[str]],
    scores: Mapping[str, Sequence[float]],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = re.sub(r"\W+", "_", tag)
    with path.open("w", encoding="utf-8") as fh:
        for qid in sorted(rankings):
            for rank, (doc, score) in enumerate(zip(rankings[qid], scores[qid], strict=True), 1):
                fh.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def table(rows: Sequence[Metrics]) -> str:
    w = max([24, *(len(m.pipeline) for m in rows)])
    head = f"{'pipeline':<{w}} {'queries':>7} {'nDCG@10':>8} {'MRR@10':>8} {'R@100':>8} {'q/s':>7}"
    lines = [head, "-" * len(head)]
    for m in rows:
        qps = m.queries / m.seconds if m.seconds > 0 else float("inf")
        lines.append(
            f"{m.pipeline:<{w}} {m.queries:>7} {m.ndcg10:>8.4f} {m.mrr10:>8.4f} "
            f"{m.recall100:>8.4f} {qps:>7.1f}"
        )
    return "\n".join(lines)
