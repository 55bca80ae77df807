"""Pages made of text copied from many others lose the copies; their sources keep it."""

from __future__ import annotations

import random

from stepdr.index.quotes import PARTNERS, QuoteFinder, shingle_keys


def _sentence(rng: random.Random, n: int = 40) -> str:
    return " ".join(f"w{rng.randrange(5000)}" for _ in range(n))


def test_a_compilation_loses_its_copies_and_its_sources_keep_them() -> None:
    rng = random.Random(7)
    sources = [[_sentence(rng), _sentence(rng)] for _ in range(PARTNERS + 10)]
    # A release note: a paragraph shared with each of many pages, most of it its own.
    note = [_sentence(rng) for _ in range(70)]
    note += [" ".join(s[1].split()[:30]) for s in sources[: PARTNERS + 2]]
    compilation = ["The list of requirements."] + [
        f"R-{i} {' '.join(s[0].split()[3:33])} (source: page {i})" for i, s in enumerate(sources)
    ]
    finder = QuoteFinder()
    for page in [*sources, note, compilation]:
        finder.add_page(page)
    quoted = finder.quoted()
    n_src = 2 * len(sources)
    assert not quoted[:n_src].any()  # the pages quoted keep every chunk
    assert not quoted[n_src : n_src + len(note)].any()  # shared with many, but mostly its own
    copies = quoted[n_src + len(note) :]
    assert not copies[0]  # the compilation's own text stays
    assert copies[1:].mean() > 0.8  # a few quotes keep no sampled shingle and stay


def test_too_few_partners_is_no_compilation() -> None:
    rng = random.Random(3)
    sources = [[_sentence(rng)] for _ in range(PARTNERS // 2)]
    finder = QuoteFinder()
    for page in [*sources, [" ".join(s[0].split()[2:35]) for s in sources]]:
        finder.add_page(page)
    assert not finder.quoted().any()


def test_shingles_are_sampled_by_content() -> None:
    text = _sentence(random.Random(1), 200)
    inner = " ".join(text.split()[50:120])
    assert set(shingle_keys(inner).tolist()) <= set(shingle_keys(text).tolist())
    assert 0 < len(shingle_keys(text)) < 60  # about one in eight of 193
    assert len(shingle_keys("too short to shingle")) == 0
