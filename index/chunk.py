"""Split a page's blocks into paragraph-level passages.

One passage per paragraph, with two corrections: paragraphs shorter than
``min_words`` merge with their neighbours under the same heading path, and
paragraphs longer than ``max_words`` split at sentence boundaries.  No text is
dropped or repeated, and the result depends on the input alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from .records import Block

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


@dataclass(frozen=True)
class Chunk:
    text: str
    headings: tuple[str, ...]


def _words(text: str) -> int:
    return len(text.split())


def _split_long(text: str, max_words: int) -> Iterator[str]:
    """Pieces of at most ``max_words`` words, cut at sentences where possible."""
    piece: list[str] = []
    count = 0
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        while len(words) > max_words:  # one sentence longer than the limit: cut it
            if piece:
                yield " ".join(piece)
                piece, count = [], 0
            yield " ".join(words[:max_words])
            words = words[max_words:]
        if count + len(words) > max_words and piece:
            yield " ".join(piece)
            piece, count = [], 0
        if words:
            piece.append(" ".join(words))
            count += len(words)
    if piece:
        yield " ".join(piece)


def chunk_blocks(blocks: Sequence[Block], min_words: int = 25, max_words: int = 200) -> list[Chunk]:
    out: list[Chunk] = []
    for headings, group in groupby(blocks, key=lambda b: b.headings):
        pieces: list[str] = []
        for block in group:
            if _words(block.text) > max_words:
                pieces.extend(_split_long(block.text, max_words))
            else:
                pieces.append(block.text)
        merged: list[str] = []
        for piece in pieces:
            if (
                merged
                and (_words(merged[-1]) < min_words or _words(piece) < min_words)
                and _words(merged[-1]) + _words(piece) <= max_words
            ):
                merged[-1] = merged[-1] + "\n" + piece
            else:
                merged.append(piece)
        out.extend(Chunk(text, headings) for text in merged)
    return out
