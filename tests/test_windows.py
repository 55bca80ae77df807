"""Passages read whole by the embedder: windows after the opening, each a vector of its
passage, which scores as its best window."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stepdr.index.records import Passage, passage_context
from stepdr.index.windows import STRIDE, WORDS, owners, window_texts, windows


def _passage(words: int, title: str = "Guide", headings: tuple[str, ...] = ("Setup",)) -> Passage:
    text = " ".join(f"w{i}" for i in range(words))
    return Passage(1, "web_1", "https://a.example/p", "a.example", title, headings, 0, text,
                   1.0, 1, "2026-01-01")  # fmt: skip


def test_a_short_passage_is_read_as_before() -> None:
    p = _passage(STRIDE)
    assert windows(p) == [passage_context(p)]
    assert windows(_passage(200), enabled=False) == [passage_context(_passage(200))]


def test_every_word_of_a_long_passage_is_in_a_window_with_its_context() -> None:
    p = _passage(200, headings=("Part", "Install", "Options"))
    found = windows(p)
    assert found[0] == passage_context(p)
    assert len(found) == 4  # words 60, 120 and 180 on
    for w in found[1:]:
        context, body = w.split("\n")
        assert context == "Guide › Install › Options"  # the last two headings, as the first
        assert len(body.split()) <= WORDS
    later = {word for w in found[1:] for word in w.split("\n")[1].split()}
    assert {f"w{i}" for i in range(STRIDE, 200)} <= later


def test_windows_are_counted_per_passage() -> None:
    texts, counts = window_texts([_passage(30), _passage(130), _passage(40)])
    assert counts == [1, 2, 1] and len(texts) == 4
    assert owners(counts).tolist() == [0, 1, 1, 2]


def test_a_passage_scores_as_its_best_window_and_comes_once(tmp_path: Path) -> None:
    from stepdr.index.dense import DenseIndex, write_dense

    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(6, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.array([7, 7, 7, 8, 9, 9], dtype=np.int64)  # passage 7 has three windows
    write_dense(tmp_path, ids, vecs, kind="flat")
    index = DenseIndex(tmp_path, use_gpu=False, fanout=4)
    for q in range(6):
        (hits,) = index.search(vecs[q : q + 1], 3)
        assert hits[0][0] == ids[q]  # a window finds its passage first
        assert len({i for i, _ in hits}) == len(hits) == 3  # each passage once
        best = {int(i): float(max(vecs[ids == i] @ vecs[q])) for i in set(ids.tolist())}
        assert all(abs(s - best[i]) < 1e-5 for i, s in hits)  # at its best window's score


def test_a_question_about_a_passages_tail_finds_it_by_meaning() -> None:
    from stepdr.index.embed import SentenceEmbedder

    opening = (
        "The server reads its configuration file at start-up and listens on the "
        "port given there. Each worker process serves one connection at a time. "
    ) * 4
    tail = (
        "To rotate the log files, send the process the HUP signal; it closes the "
        "current log and opens a new one with the same name. "
    ) * 3
    p = Passage(1, "web_1", "https://a.example/p", "a.example", "Server", ("Operation",), 0,
                opening + tail, 1.0, 1, "2026-01-01")  # fmt: skip
    embedder = SentenceEmbedder(None)
    texts, _ = window_texts([p])
    assert len(texts) > 1
    q = embedder.encode(["how do I start a new log file without stopping the server"])[0]
    best = max(float(q @ v) for v in embedder.encode(texts))
    opening_only = float(q @ embedder.encode([passage_context(p)])[0])
    assert best > opening_only + 0.05
