"""Property tests of the chunker: nothing lost, nothing repeated, limits held."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from stepdr.index.chunk import _words, chunk_blocks
from stepdr.index.records import Block

_WORD = st.one_of(
    st.from_regex(r"[A-Za-z]{1,12}[.,!?]?", fullmatch=True),
    st.from_regex(r"[\u4e00-\u9fa5]{1,6}[。，！？]?", fullmatch=True),
    st.sampled_from(["3.14", "e.g.", "—", "lru_cache(maxsize=128)", "。"]),
)
_TEXT = st.lists(_WORD, min_size=0, max_size=250).map(" ".join)
_BLOCKS = st.lists(
    st.builds(
        Block,
        kind=st.just("paragraph"),
        text=_TEXT,
        headings=st.sampled_from([(), ("A",), ("A", "B"), ("C",)]),
    ),
    max_size=12,
)
_LIMITS = st.tuples(st.integers(1, 60), st.integers(0, 200)).map(lambda t: (t[0], t[0] + t[1]))


def _glyphs(text: str) -> str:
    return re.sub(r"\s+", "", text)


@settings(max_examples=200, deadline=None)
@given(blocks=_BLOCKS, limits=_LIMITS)
def test_chunker_properties(blocks: list[Block], limits: tuple[int, int]) -> None:
    min_words, max_words = limits
    chunks = chunk_blocks(blocks, min_words, max_words)
    assert all(c.text.strip() for c in chunks), "no empty passage"
    assert "".join(_glyphs(c.text) for c in chunks) == "".join(_glyphs(b.text) for b in blocks)
    assert all(_words(c.text) <= max_words for c in chunks), "upper limit held"
    for i, small in enumerate(chunks):
        if _words(small.text) >= min_words:
            continue
        before = chunks[i - 1] if i > 0 else None
        after = chunks[i + 1] if i + 1 < len(chunks) else None
        # A short passage stands alone only where merging would cross a heading or the limit.
        for other in (before, after):
            if other is not None and other.headings == small.headings:
                assert _words(other.text) + _words(small.text) > max_words
    assert chunk_blocks(blocks, min_words, max_words) == chunks, "deterministic"


_LINE = st.tuples(st.sampled_from(["", "    ", "        "]), st.lists(_WORD, max_size=10))
_CODE = st.lists(_LINE.map(lambda t: t[0] + " ".join(t[1])), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(lines=_CODE, limits=_LIMITS)
def test_code_keeps_its_lines(lines: list[str], limits: tuple[int, int]) -> None:
    min_words, max_words = limits
    code = "\n".join(lines)
    chunks = chunk_blocks([Block("code", code, ("A",))], min_words, max_words)
    assert all(_words(c.text) <= max_words for c in chunks), "upper limit held"
    assert "".join(_glyphs(c.text) for c in chunks) == _glyphs(code)
    if all(_words(line) <= max_words for line in lines):  # no line had to be cut
        shown = [x for c in chunks for x in c.text.split("\n") if x.strip()]
        assert shown == [x for x in lines if x.strip()], "lines and indentation kept"
