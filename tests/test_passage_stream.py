"""The streaming de-duplication decides what the in-memory passes decide, passage for
passage, and the array near-duplicate pass is the greedy one."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from stepdr.crawl.domains_yaml import parse_domains
from stepdr.index.chunk import Chunk
from stepdr.index.dedup import PageText, make_passages
from stepdr.index.near_dup import NEAR_BITS, near_duplicates
from stepdr.index.passage_stream import PageSpill, plan_passages
from stepdr.index.records import PageRef

DOMAINS = parse_domains(
    {
        "domains": [
            {"domain": "gov.example.org", "name": "G", "category": "gov", "tier": 1},
            {"domain": "uni.example.edu", "name": "U", "category": "academic", "tier": 2},
            {"domain": "blog.example.com", "name": "B", "category": "news", "tier": 4},
        ]
    }
)
WORDS = ["cod", "herring", "quota", "stock", "fleet", "harbour", "survey", "catch", "net"]


def _text(rng: random.Random, n: int = 30) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def _corpus(seed: int) -> list[PageText]:
    rng = random.Random(seed)
    shared = [_text(rng, 100) for _ in range(80)]
    footer = {h: f"Copyright {h} all rights reserved, contact the webmaster" for h in DOMAIN_HOSTS}
    pages = []
    for n in range(60):
        host = rng.choice(DOMAIN_HOSTS)
        texts = [_text(rng) for _ in range(rng.randrange(1, 5))]
        texts += rng.sample(shared, 2)  # exact copies across sites
        near = rng.choice(shared).split()
        near[-1] = "changed"  # one word off: a near copy
        texts.append(" ".join(near))
        if rng.random() < 0.8:
            texts.append(footer[host])
        if rng.random() < 0.1:
            texts.append(texts[0])  # the same text twice on a page
        chunks = tuple(Chunk(t, (f"h{n}",)) for t in texts)
        ref = PageRef(f"https://{host}/p{n:03d}.html", "a.warc.gz", n, "2026-01-01", f"d{n}")
        pages.append(PageText(ref, f"Page {n}", "en", None, chunks))
    # A compilation: a sentence of each of 40 pages, quoted with a tag and a link.
    quotes = [
        f"R-{i}: {' '.join(page.chunks[0].text.split()[2:28])} (source: p{i:03d}.html)"
        for i, page in enumerate(pages[:40])
    ]
    ref = PageRef("https://uni.example.edu/requirements.html", "a.warc.gz", 99, "2026", "dq")
    chunks = tuple(Chunk(t, ("List",)) for t in ["The requirements, in order.", *quotes])
    pages.append(PageText(ref, "Requirements", "en", None, chunks))
    return sorted(pages, key=lambda p: p.ref.url)


DOMAIN_HOSTS = ["gov.example.org", "uni.example.edu", "blog.example.com", "other.example.net"]


def test_the_streaming_plan_equals_the_in_memory_passes(tmp_path: Path) -> None:
    for seed in range(3):
        pages = _corpus(seed)
        spill = PageSpill(tmp_path / f"s{seed}.spill")
        for page in reversed(pages):  # written in any order, read in URL order
            spill.add(page)
        want, dropped = make_passages(pages, DOMAINS)
        plan = plan_passages(spill.pages, DOMAINS)
        got = list(plan.passages())
        assert got == want
        assert plan.count == len(want) and plan.dropped == dropped
        assert all(dropped.values()), dropped  # every pass had something to do
        assert list(plan.passages()) == got  # as often as a writer asks
        odd = plan_passages(spill.pages, DOMAINS, keep=lambda p: p.id % 2 == 1)
        assert list(odd.passages()) == [p for p in want if p.id % 2 == 1]
        assert odd.count == len([p for p in want if p.id % 2 == 1])
        spill.close()
        assert not spill.path.exists()


def _greedy(hashes: list[int], authority: list[float]) -> set[int]:
    order = sorted(range(len(hashes)), key=lambda i: -authority[i])
    kept: list[int] = []
    gone = set()
    for i in order:
        if any(bin(hashes[i] ^ hashes[j]).count("1") <= NEAR_BITS for j in kept):
            gone.add(i)
        else:
            kept.append(i)
    return gone


def test_near_duplicates_are_the_greedy_choice() -> None:
    rng = random.Random(7)
    for _ in range(20):
        base = [rng.getrandbits(64) for _ in range(40)]
        hashes = []
        for _ in range(200):  # variants of a few bases: chains, ties, exact repeats
            h = rng.choice(base)
            for _ in range(rng.choice([0, 1, 2, 3, 4, 6])):
                h ^= 1 << rng.randrange(64)
            hashes.append(h)
        authority = [rng.choice([0.2, 0.5, 0.9]) for _ in hashes]
        got = near_duplicates(np.array(hashes, dtype=np.uint64), np.array(authority))
        assert set(got.tolist()) == _greedy(hashes, authority)


def test_near_duplicate_runs_stay_short_at_scale() -> None:
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 300_000, dtype=np.int64).astype(np.uint64)
    hashes[1000:1010] = hashes[5] ^ np.uint64(0b101)  # ten near copies of one
    got = near_duplicates(hashes, np.ones(len(hashes)))
    assert got.tolist() == list(range(1000, 1010))
